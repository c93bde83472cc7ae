#!/bin/bash
# make test: the Grafana dashboard (dashboards/analytics.json, README "Grafana
# dashboard") without Grafana. Loads a small dataset with known answers
# (test/dashboard/data.sql) into a new database of the running cluster, then
# takes every panel's SQL and the project variable's query out of the JSON,
# expands the macros and variables as Grafana's PostgreSQL data source does
# ($__timeFrom(), $__timeTo(), $__timeFilter(col), $__interval,
# $__interval_ms, ${project} / $project: quoted, or the All value NULL),
# and runs each for three time ranges (the last 24 hours, 7 days, 90 days:
# beyond the 30-day retention) for a project and All as a superuser, and for
# All as a BI role granted one project (README "A BI user"), as Grafana's
# role would be. Each answer must
# have the shape its panel type needs (time series: a "time" timestamptz
# column in ascending order and numeric columns, as many buckets as the
# range and Grafana's interval give; stat: one row of numbers; bar gauge,
# pie, bar chart and table: a text label and numbers), and the answers of
# the last 24 hours must be the known values. Exits 1 on any difference.
# ANALYTICS_DASHBOARD_VERBOSE=1 prints every answer.
# Needs a running cluster (PGHOST, PGPORT, PGUSER set, as test/run_tests.sh does).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${PG_BINDIR:-$(pg_config --bindir)}
DB=analytics_dashboard
PSQL="$BIN/psql -X -q -v ON_ERROR_STOP=1"
W=$(mktemp -d /tmp/analytics-dashboard.XXXXXX)
BI=analytics_dashboard_bi
cleanup() {
  $PSQL -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $BI" >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
cleanup; mkdir -p "$W"

$PSQL -d postgres -c "CREATE DATABASE $DB" -c "CREATE ROLE $BI LOGIN" >/dev/null || { echo "dashboard: FAILED: creating $DB"; exit 1; }
$PSQL -At -d $DB -c "CREATE EXTENSION analytics" -f test/dashboard/data.sql \
      -c "SELECT analytics.run_maintenance() IS NOT NULL" -c "SELECT analytics.grant_project('$BI', 'p1')" >"$W/load.out" 2>&1 \
  || { cat "$W/load.out"; echo "dashboard: FAILED: loading the dataset"; exit 1; }

PSQL_CMD="$PSQL -At -d $DB" PSQL_BI="$PSQL -At -d $DB -U $BI" W="$W" perl - dashboards/analytics.json <<'PERL'
use strict; use warnings;
use JSON::PP;
use POSIX qw(strftime floor);

my $dash = do { local $/; open my $f, '<', $ARGV[0] or die "$ARGV[0]: $!"; decode_json(<$f>) };
my ($psql, $w) = ($ENV{PSQL_CMD}, $ENV{W});
my $failed = 0; my $ran = 0;
sub fail { print "dashboard: FAILED: $_[0]\n"; $failed++; }

# Grafana's interval: the range over the panel's data points (1000 here),
# rounded as Grafana's rangeutil.roundInterval does, in ms
sub round_interval {
    my $i = shift;
    my @t = ([15,10],[35,20],[75,50],[150,100],[350,200],[750,500],[1500,1000],[3500,2000],
             [7500,5000],[12500,10000],[17500,15000],[25000,20000],[45000,30000],[90000,60000],
             [210000,120000],[450000,300000],[1050000,600000],[1500000,900000],[2700000,1800000],
             [5400000,3600000],[9000000,7200000],[16200000,10800000],[32400000,21600000],
             [86400000,43200000],[604800000,86400000],[1814400000,604800000],[3628800000,2592000000]);
    for (@t) { return $_->[1] if $i < $_->[0]; }
    return 31536000000;
}
sub interval_text { # Grafana's $__interval: the largest whole unit
    my $ms = shift;
    for ([31536000000,'y'],[604800000,'w'],[86400000,'d'],[3600000,'h'],[60000,'m'],[1000,'s']) {
        return ($ms / $_->[0]) . $_->[1] if $ms >= $_->[0] && $ms % $_->[0] == 0;
    }
    return "${ms}ms";
}
sub rfc3339 { # time.RFC3339Nano in UTC, as the data source formats $__timeFrom() etc.
    my $ms = shift;
    my $s = strftime('%Y-%m-%dT%H:%M:%S', gmtime(floor($ms / 1000)));
    my $frac = $ms % 1000;
    $s .= sprintf('.%03d', $frac) =~ s/0+$//r if $frac;
    return "$s" . 'Z';
}
sub quote_literal { my $v = shift; $v =~ s/'/''/g; return "'$v'"; }

my ($var) = grep { $_->{name} eq 'project' } @{$dash->{templating}{list}};
$var or die "no project variable";
sub expand {
    my ($sql, $from, $to, $project) = @_;
    my $iv = round_interval(($to - $from) / 1000);
    my ($f, $t) = map { "'" . rfc3339($_) . "'" } ($from, $to);
    # the data source's macros
    $sql =~ s/\$__timeFilter\(([^)]+)\)/$1 BETWEEN $f AND $t/g;
    $sql =~ s/\$__timeFrom\(\)/$f/g;
    $sql =~ s/\$__timeTo\(\)/$t/g;
    # Grafana's global and template variables
    $sql =~ s/\$__interval_ms\b/$iv/g;
    $sql =~ s/\$__interval\b/interval_text($iv)/ge;
    $sql =~ s/\$__from\b/$from/g;
    $sql =~ s/\$__to\b/$to/g;
    # a variable with includeAll: a value is quoted, All is the raw allValue
    my $pv = defined $project ? quote_literal($project) : $var->{allValue};
    $sql =~ s/\$\{project\}|\$project\b|\[\[project\]\]/$pv/g;
    die "unexpanded macro or variable in: $sql" if $sql =~ /\$/;
    return $sql;
}

# [columns as name/type pairs], [rows as arrays]
sub run {
    my ($name, $sql, $psql) = @_;
    $ran++;
    my $file = "$w/q.sql";
    open my $q, '>', $file or die; print $q "$sql \\gdesc\n\\echo \@\@rows\n$sql\n;\n"; close $q;
    my $out = `$psql -F '\t' -f $file 2>&1`;
    if ($?) { fail("$name: the query failed:\n$sql\n$out"); return; }
    my ($desc, $rows) = split /^\@\@rows\n/m, $out, 2;
    my @cols = map { [split /\t/] } split /\n/, $desc;
    my @rows = map { [split /\t/, $_, -1] } split /\n/, $rows // '';
    return (\@cols, \@rows);
}
my %numeric = map { $_ => 1 } ('double precision', 'numeric', 'bigint', 'integer', 'real', 'smallint');

my $now = int(time() * 1000);
my @ranges = (['24h', 86400000, 1440], ['7d', 7 * 86400000, 168], ['90d', 90 * 86400000, 30]);
my %answers;
for my $range (@ranges) {
    my ($rname, $len, $buckets) = @$range;
    my ($from, $to) = ($now - $len, $now);
    # a project, All, and All as the role granted p1 only
    for my $case (['p1', 'p1', $psql], ['All', undef, $psql], ['bi', undef, $ENV{PSQL_BI}]) {
        my ($pname, $project, $psql) = @$case;
        # the variable: one text column, the projects of the range
        my ($c, $r) = run("variable project ($rname, $pname)", expand($var->{query}, $from, $to, $project), $psql);
        if ($c) {
            fail("variable project: not one text column") unless @$c == 1 && $c->[0][1] eq 'text';
            $answers{"variable|$rname|$pname"} = join(';', map { $_->[0] } @$r);
        }
        for my $p (@{$dash->{panels}}) {
            for my $tg (@{$p->{targets} || []}) {
                my $name = "panel $p->{id} \"$p->{title}\" ($p->{type}, $rname, $pname)";
                my ($cols, $rows) = run($name, expand($tg->{rawSql}, $from, $to, $project), $psql);
                next unless $cols;
                my @types = map { $_->[1] } @$cols;
                if ($p->{type} eq 'timeseries') {
                    $tg->{format} eq 'time_series' or fail("$name: format $tg->{format}");
                    ($cols->[0][0] eq 'time' && $types[0] eq 'timestamp with time zone')
                        or fail("$name: the first column is not \"time\" timestamptz");
                    (@types >= 2 && !grep { !$numeric{$_} } @types[1..$#types]) or fail("$name: value columns not numeric: @types");
                    my @t = map { $_->[0] } @$rows;
                    (join("\n", @t) eq join("\n", sort @t)) or fail("$name: time not ascending");
                    (@$rows == $buckets || @$rows == $buckets + 1)
                        or fail("$name: " . scalar(@$rows) . " buckets, expected $buckets or " . ($buckets + 1));
                    my $sum = 0; $sum += $_->[1] for grep { length $_->[1] } @$rows; # NULL: no denominator
                    $answers{"$p->{title}|$p->{type}|$rname|$pname"} = $sum;
                } elsif ($p->{type} eq 'stat') {
                    (@$rows == 1 && !grep { !$numeric{$_} } @types) or fail("$name: not one row of numbers");
                    $answers{"$p->{title}|stat|$rname|$pname"} = join('|', @{$rows->[0]});
                } else { # bargauge, piechart, barchart, table: a label and numbers
                    $tg->{format} eq 'table' or fail("$name: format $tg->{format}");
                    ($types[0] eq 'text' && @types >= 2 && !grep { !$numeric{$_} } @types[1..$#types])
                        or fail("$name: not a text label and numbers: @types");
                    @$rows >= 1 or fail("$name: no rows");
                    $answers{"$p->{title}|$p->{type}|$rname|$pname"} = join(';', map { join('|', @$_) } @$rows);
                }
            }
        }
    }
}

# the known values (test/dashboard/data.sql), every range holds all of them
my %expected;
for my $rname (map { $_->[0] } @ranges) {
    %expected = (%expected,
        "variable|$rname|p1" => 'p1;p2', "variable|$rname|bi" => 'p1',
        "Plays|stat|$rname|p1" => '6', "Plays|stat|$rname|All" => '7',
        "Play rate|stat|$rname|p1" => '0.6', "Play rate|stat|$rname|All" => '0.6363636363636364',
        "Impression time|stat|$rname|p1" => '550', "Watch time|stat|$rname|p1" => '360',
        "Views|stat|$rname|p1" => '4', "Peak concurrent viewers|stat|$rname|p1" => '6',
        "Plays|timeseries|$rname|p1" => 6, "Plays|timeseries|$rname|All" => 7,
        "Views|timeseries|$rname|p1" => 4, "Watch time|timeseries|$rname|p1" => 360,
        "Impression time|timeseries|$rname|p1" => 550, "Concurrent viewers|timeseries|$rname|p1" => 6,
        "Plays by country|bargauge|$rname|p1" => 'FR|3;DE|2;US|1',
        "Plays by country|bargauge|$rname|All" => 'FR|3;DE|2;GB|1;US|1',
        "Plays by device type|piechart|$rname|p1" => 'computer|4;phone|2',
        "Plays by browser|barchart|$rname|p1" => 'firefox|3;chrome|2;safari|1',
        "Media|table|$rname|p1" => 'vi-a|4|0.6666666666666666|240|4;vi-b|2|1|120|0');
}
# the BI role sees p1 only
for my $k (grep { /\|p1$/ } keys %expected) { (my $b = $k) =~ s/\|p1$/|bi/; $expected{$b} //= $expected{$k}; }
# hour and day buckets hold the impressions and the plays together (minutes do not)
for my $r ('7d', '90d') { $expected{"Play rate|timeseries|$r|$_"} = 0.6 for ('p1', 'bi'); }
if ($ENV{ANALYTICS_DASHBOARD_VERBOSE}) { print "$_ = $answers{$_}\n" for sort keys %answers; }
for my $k (sort keys %expected) {
    my $got = $answers{$k} // '(none)';
    fail("$k: got $got, expected $expected{$k}") unless $got eq $expected{$k};
}
printf "dashboard: %d panels, %d queries run, %d known answers checked, %d failures\n",
    scalar(@{$dash->{panels}}), $ran, scalar(keys %expected), $failed;
exit($failed ? 1 : 0);
PERL
