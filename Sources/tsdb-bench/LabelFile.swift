import Foundation
import TSDB

/// Reads label sets in the format of `promtool tsdb bench write`: one flat JSON object of
/// label name → value per line. Keeps the first `limit` unique sets, as promtool does.
enum LabelFile {
    static func read(_ path: String, limit: Int) throws -> [Labels] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationFailure("cannot read \(path)")
        }
        var seen = Set<Labels>()
        var out: [Labels] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if out.count >= limit { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }) { continue }
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line))
            } catch {
                throw ValidationFailure("\(path):\(lineNumber): not a JSON object: \(error.localizedDescription)")
            }
            guard let dict = object as? [String: Any] else {
                throw ValidationFailure("\(path):\(lineNumber): expected a JSON object of label name to value")
            }
            var pairs: [(String, String)] = []
            for (k, v) in dict {
                guard let s = v as? String else {
                    throw ValidationFailure("\(path):\(lineNumber): value of \(k) is not a string")
                }
                pairs.append((k, s))
            }
            let labels: Labels
            do {
                labels = try Labels(pairs)
            } catch {
                throw ValidationFailure("\(path):\(lineNumber): \(error)")
            }
            if seen.insert(labels).inserted { out.append(labels) }
        }
        if out.count < limit {
            FileHandle.standardError.write(Data("warning: \(path) holds only \(out.count) unique label sets, fewer than \(limit)\n".utf8))
        }
        return out
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
