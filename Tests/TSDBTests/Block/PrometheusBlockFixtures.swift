/// `meta.json` and `tombstones` files written by Prometheus 2.42 itself, frozen byte for
/// byte (as escaped strings and hex, so that the test target needs no resource files).
///
/// What made them: Debian 12's `prometheus` 2.42.0+ds-5+deb12u1 (go1.19.8), with this
/// script, run as `sh meta-fixtures.sh OUT` (about a minute; it needs `prometheus`,
/// `promtool`, `curl` and `xxd`):
///
/// ```
/// set -eu; OUT=$1; rm -rf "$OUT"; mkdir -p "$OUT"
/// printf 'global:\n  scrape_interval: 1h\n' > "$OUT/prom.yml"
/// promtool tsdb create-blocks-from openmetrics --quiet Fixtures/chunks/input.om "$OUT/blocks"
/// cp -r "$OUT/blocks" "$OUT/deleted"; cp -r "$OUT/blocks" "$OUT/compacted"
/// serve() { dir=$1; port=$2; shift 2
///   prometheus --config.file="$OUT/prom.yml" --storage.tsdb.path="$dir" \
///     --web.listen-address=127.0.0.1:$port --storage.tsdb.retention.time=100y "$@" > "$dir.log" 2>&1 &
///   echo $! > "$dir.pid"; until curl -sf http://127.0.0.1:$port/-/ready >/dev/null; do sleep 0.2; done; }
/// delete() { curl -sf -XPOST http://127.0.0.1:19190/api/v1/admin/tsdb/delete_series \
///   --data-urlencode "match[]=$1" --data-urlencode "start=$2" --data-urlencode "end=$3"; }
/// # Tombstones: 2h blocks only, so nothing compacts them away.
/// serve "$OUT/deleted" 19190 --web.enable-admin-api \
///   --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h
/// delete 'fx_http_requests_total{code="200"}' 1700006500 1700007000
/// delete 'fx_http_requests_total{code="200"}' 1700008000.5 1700009000
/// delete 'fx_http_requests_total{code="200"}' 1700007000.001 1700007500   # touches the first
/// delete '{__name__=~".+"}' 1700064000 1700069200                          # 6 series, one block
/// kill "$(cat "$OUT/deleted.pid")"
/// # Compaction with the default ranges; the first runs a minute after start.
/// serve "$OUT/compacted" 19191
/// until grep -qs '"level": 3' "$OUT"/compacted/*/meta.json; do sleep 2; done
/// sleep 2; kill "$(cat "$OUT/compacted.pid")"
/// ```
///
/// ULIDs differ on every run (they hold the time of the run); the tombstones of a block
/// with one deleted series come out the same every run, those of several series in Go's
/// random map order.
enum PrometheusBlockFixtures {
    /// `deleted/01M7YMRHSB12X23MYA12EPSMKK/meta.json`: rewritten by `Block.Delete`.
    static let metaAfterDelete = """
        {
        \t"ulid": "01M7YMRHSB12X23MYA12EPSMKK",
        \t"minTime": 1700006400011,
        \t"maxTime": 1700013592001,
        \t"stats": {
        \t\t"numSamples": 869,
        \t\t"numSeries": 4,
        \t\t"numChunks": 9,
        \t\t"numTombstones": 2
        \t},
        \t"compaction": {
        \t\t"level": 1,
        \t\t"sources": [
        \t\t\t"01M7YMRHSB12X23MYA12EPSMKK"
        \t\t]
        \t},
        \t"version": 1
        }
        """

    /// `compacted/01M7YMTDRANRF7FEGYF1CP9K1Q/meta.json`: three level-1 blocks compacted.
    static let metaLevel2 = """
        {
        \t"ulid": "01M7YMTDRANRF7FEGYF1CP9K1Q",
        \t"minTime": 1700006400011,
        \t"maxTime": 1700027982001,
        \t"stats": {
        \t\t"numSamples": 1393,
        \t\t"numSeries": 6,
        \t\t"numChunks": 16
        \t},
        \t"compaction": {
        \t\t"level": 2,
        \t\t"sources": [
        \t\t\t"01M7YMRHSB12X23MYA12EPSMKK",
        \t\t\t"01M7YMRHTV46E2WG652CW27SR8",
        \t\t\t"01M7YMRHYKNSQ29SHGRQWD9A75"
        \t\t],
        \t\t"parents": [
        \t\t\t{
        \t\t\t\t"ulid": "01M7YMRHSB12X23MYA12EPSMKK",
        \t\t\t\t"minTime": 1700006400011,
        \t\t\t\t"maxTime": 1700013592001
        \t\t\t},
        \t\t\t{
        \t\t\t\t"ulid": "01M7YMRHTV46E2WG652CW27SR8",
        \t\t\t\t"minTime": 1700013601005,
        \t\t\t\t"maxTime": 1700017485996
        \t\t\t},
        \t\t\t{
        \t\t\t\t"ulid": "01M7YMRHYKNSQ29SHGRQWD9A75",
        \t\t\t\t"minTime": 1700020800012,
        \t\t\t\t"maxTime": 1700027982001
        \t\t\t}
        \t\t]
        \t},
        \t"version": 1
        }
        """

    /// `compacted/01M7YMTDV9VEBDZQT11TB8403K/meta.json`: three level-2 blocks compacted.
    static let metaLevel3 = """
        {
        \t"ulid": "01M7YMTDV9VEBDZQT11TB8403K",
        \t"minTime": 1700028012000,
        \t"maxTime": 1700086200016,
        \t"stats": {
        \t\t"numSamples": 714,
        \t\t"numSeries": 12,
        \t\t"numChunks": 22
        \t},
        \t"compaction": {
        \t\t"level": 3,
        \t\t"sources": [
        \t\t\t"01M7YMRJ0WNYPK6KYYF360VASN",
        \t\t\t"01M7YMRJ37FF04Q7X7CXWD88PC",
        \t\t\t"01M7YMRJ5MSZX5NQB064A1N369",
        \t\t\t"01M7YMRJ98BDYDEYXC3AN40KF0",
        \t\t\t"01M7YMRJATR7ZF5ESV5EGQDMAB",
        \t\t\t"01M7YMRJC248CMSVPJ1VEHQ2E8",
        \t\t\t"01M7YMRJDH93VZH3J6G10KWAQH",
        \t\t\t"01M7YMRJFB3EBS0V6EB5ABSAEY",
        \t\t\t"01M7YMRJGJ0DECWNKG0CSDFWXQ"
        \t\t],
        \t\t"parents": [
        \t\t\t{
        \t\t\t\t"ulid": "01M7YMTDSBEPEX7ZGDX3EWH9ZC",
        \t\t\t\t"minTime": 1700028012000,
        \t\t\t\t"maxTime": 1700046195001
        \t\t\t},
        \t\t\t{
        \t\t\t\t"ulid": "01M7YMTDSTRF18N6X98Y64J37A",
        \t\t\t\t"minTime": 1700049610000,
        \t\t\t\t"maxTime": 1700069100015
        \t\t\t},
        \t\t\t{
        \t\t\t\t"ulid": "01M7YMTDTKEQ1KRWY6VY9H2GP5",
        \t\t\t\t"minTime": 1700071200500,
        \t\t\t\t"maxTime": 1700086200016
        \t\t\t}
        \t\t]
        \t},
        \t"version": 1
        }
        """

    /// Every block's `tombstones` before any delete, and after compaction.
    static let emptyTombstones = "0130ba300100000000"

    /// `deleted/01M7YMRHSB12X23MYA12EPSMKK/tombstones`: series 7, three deletes of which
    /// two touch (…7000000 and …7000001), so two intervals.
    static let tombstonesOneSeries = "0130ba300107c0dac484fa62c0e3be85fa6207e8effb85fa6280f1f586fa6239d9fc7a"
    static let tombstonesOneSeriesContent: [(UInt64, Int64, Int64)] = [
        (7, 1_700_006_500_000, 1_700_007_500_000), (7, 1_700_008_000_500, 1_700_009_000_000),
    ]

    /// `deleted/01M7YMRJC248CMSVPJ1VEHQ2E8/tombstones`: six series, one interval each
    /// (clamped to each series' chunks), in Go's map order 16, 18, 8, 10, 12, 14.
    static let tombstonesSixSeries = "0130ba30011080e0afbbfa62809ae7befa621282e0afbbfa62c089b7bbfa620880fff8bbfa62e0d3fcbbfa620ac4c8b2bffa62c4c8b2bffa620cf6e1afbbfa62f6e1afbbfa620e9cdcd4bdfa62dca79ec0fa629d93a670"
    static let tombstonesSixSeriesContent: [(UInt64, Int64, Int64)] = [
        (8, 1_700_064_600_000, 1_700_064_630_000), (10, 1_700_068_217_378, 1_700_068_217_378),
        (12, 1_700_064_000_123, 1_700_064_000_123), (14, 1_700_066_400_014, 1_700_069_100_014),
        (16, 1_700_064_000_000, 1_700_067_600_000), (18, 1_700_064_000_001, 1_700_064_060_000),
    ]

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { i in
            UInt8(String(decoding: digits[i..<(i + 2)], as: UTF8.self), radix: 16)!
        }
    }
}
