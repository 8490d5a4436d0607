/// Initializers that the tool targets (TSDBTools' importer) call and that Swift synthesizes
/// only as `internal`.

extension ChunkOptions {
    /// `ChunkOptions(chunkRange:samplesPerChunk:maxBytesBeforeAppend:)`, for other targets.
    package static func make(chunkRange: Int64, samplesPerChunk: Int, maxBytesBeforeAppend: Int?) -> ChunkOptions {
        ChunkOptions(chunkRange: chunkRange, samplesPerChunk: samplesPerChunk, maxBytesBeforeAppend: maxBytesBeforeAppend)
    }
}

extension SeriesState {
    /// A series without samples, `SeriesState()`, for other targets.
    package static func empty() -> SeriesState { SeriesState() }
}
