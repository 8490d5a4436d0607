/// A byte buffer that only grows, keeping its bytes when it does; reused for one record
/// after another so that decoding does not allocate.
final class GrowableBuffer {
    private(set) var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// At least `count` bytes, holding what the buffer held before.
    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if let pointer, count <= capacity { return pointer }
        let newCapacity = Swift.max(count, capacity * 2, 64 * 1024)
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let pointer {
            grown.copyMemory(from: pointer, byteCount: capacity)
            pointer.deallocate()
        }
        pointer = grown
        capacity = newCapacity
        return grown
    }

    deinit { pointer?.deallocate() }
}
