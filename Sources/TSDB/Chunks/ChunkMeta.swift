/// An immutable XOR chunk with the time range of its samples: a closed head chunk, a
/// block's chunk once read, or a chunk about to be written (Prometheus's `chunks.Meta`).
package struct ChunkMeta: Sendable {
    package let chunk: XORChunk
    package let minTime: Int64
    package let maxTime: Int64
}
