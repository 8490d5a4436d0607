/// The files of a block directory (FORMAT.md): `meta.json`, `index`, `chunks/` and
/// `tombstones`. The directory itself is named by ``DataDirectory/block(_:)``.
enum BlockFiles {
    static func meta(_ block: String) -> String { block + "/" + BlockMeta.fileName }
    static func index(_ block: String) -> String { block + "/index" }
    static func chunks(_ block: String) -> String { block + "/chunks" }
    static func tombstones(_ block: String) -> String { block + "/" + TombstonesFile.fileName }
}
