/// Initializers that the tool targets (TSDBTools) call and that Swift synthesizes only as
/// `internal`. They belong beside their types (`Head/MemSeries.swift`); they are here so
/// that the move of the tools out of the engine changes nothing there but access keywords.

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
