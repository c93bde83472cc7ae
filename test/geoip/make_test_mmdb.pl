#!/usr/bin/perl
# make_test_mmdb.pl PATH [changed|large]
# Write a small MaxMind DB in the GeoLite2-Country format to PATH, for the
# geoip regression test (sql/geoip.sql). Needs MaxMind::DB::Writer (Debian
# package libmaxmind-db-writer-perl).
#
#   192.0.2.0/24    -> FR   (BE with the variant "changed")
#   198.51.100.0/24 -> US
#   203.0.113.0/24  -> no country, registered_country DE
#   2001:db8::/32   -> JP
#
# PATH is written in place: to update a database that a server may have
# open, write it elsewhere and rename it over the old one (as the test does).
# The variant "large" adds 300000 random IPv4 networks (/16 to /24) and
# 100000 random IPv6 networks (/32 to /48), from a fixed seed, each with one
# of 200 countries: about the size of GeoLite2-Country, for benchmarks
# (test/bench/geoip_bench.sql).
# It has no IPv6-to-IPv4 aliases (::ffff:0:0/96 etc.), so that the test shows
# how IPv4-mapped IPv6 addresses are looked up without them.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my ($path, $variant) = @ARGV;
die "usage: $0 PATH [changed|large]\n" unless defined $path && @ARGV <= 2;
$variant //= '';
die "unknown variant: $variant\n" unless $variant =~ /\A(|changed|large)\z/;

my %types = (
    country            => 'map',
    registered_country => 'map',
    continent          => 'map',
    iso_code           => 'utf8_string',
    code               => 'utf8_string',
    names              => 'map',
    en                 => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => 'GeoLite2-Country',
    languages                => ['en'],
    description              => { en => 'analytics geoip test database' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,    # the test uses documentation networks
    alias_ipv6_to_ipv4       => 0,
);

sub country {
    my ($iso, $name, $continent) = @_;
    return {
        country   => { iso_code => $iso, names => { en => $name } },
        continent => { code => $continent },
    };
}

$tree->insert_network('192.0.2.0/24',
    $variant eq 'changed' ? country('BE', 'Belgium', 'EU') : country('FR', 'France', 'EU'));
$tree->insert_network('198.51.100.0/24', country('US', 'United States', 'NA'));
$tree->insert_network('203.0.113.0/24', {
    registered_country => { iso_code => 'DE', names => { en => 'Germany' } },
    continent          => { code => 'EU' },
});
$tree->insert_network('2001:db8::/32', country('JP', 'Japan', 'AS'));

if ($variant eq 'large') {
    srand(42);
    my @countries = map { my $c = chr(65 + $_ / 26 % 26) . chr(65 + $_ % 26); [$c, "Country $c", 'EU'] } 0 .. 199;
    for (1 .. 300000) {
        my $len = 16 + int(rand(9));
        my $ip = int(rand(2**32)) & ~((1 << (32 - $len)) - 1);
        next if ($ip >> 24) == 0 || ($ip >> 24) >= 224 || ($ip >> 24) == 192 || ($ip >> 24) == 198 || ($ip >> 24) == 203;
        my $net = join('.', map { ($ip >> (24 - 8 * $_)) & 255 } 0 .. 3) . "/$len";
        $tree->insert_network($net, country(@{ $countries[int(rand(@countries))] }));
    }
    for (1 .. 100000) {
        my $len = 32 + int(rand(17));
        my @h = (0x2400 + int(rand(0x0c00)), int(rand(65536)), int(rand(65536)));
        $h[2] &= 0xffff << (48 - $len) if $len < 48;
        next if $h[0] == 0x2001;
        $tree->insert_network(sprintf('%x:%x:%x::/%d', @h, $len), country(@{ $countries[int(rand(@countries))] }));
    }
}

open my $fh, '>:raw', $path or die "$path: $!\n";
$tree->write_tree($fh);
close $fh or die "$path: $!\n";
