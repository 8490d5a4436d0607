import TSDB

extension Options {
    /// The default options with background compaction off, so that a test compacts when it
    /// says so; `tweak` changes the rest.
    public static func manualCompaction(_ tweak: (inout Options) -> Void = { _ in }) -> Options {
        var o = Options()
        o.compactionEnabled = false
        tweak(&o)
        return o
    }
}
