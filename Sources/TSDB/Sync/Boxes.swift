import Synchronization

/// Moves a non-Sendable value to another thread when the sender gives up its own use.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A flag one thread sets and others poll, to stop a loop.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

final class WeakBox<T: AnyObject>: @unchecked Sendable {
    // @unchecked: a weak reference; reads and the release race only as Swift's weak
    // references allow, which is safe.
    weak var value: T?
    init(_ value: T) { self.value = value }
}
