/// An immutable XOR chunk with the time range of its samples: a closed head chunk, a
/// block's chunk once read, or a chunk about to be written (Prometheus's `chunks.Meta`).
struct ChunkMeta: Sendable {
    let chunk: XORChunk
    let minTime: Int64
    let maxTime: Int64
}
