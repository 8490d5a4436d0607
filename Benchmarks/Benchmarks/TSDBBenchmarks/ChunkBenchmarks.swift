import Benchmark
@_spi(Chunks) import TSDB

/// XOR chunk encoding and decoding. Each iteration handles 1000 chunks of 120 samples
/// (`scalingFactor: .kilo`), so the default (scaled) output reads per chunk: wall clock and
/// mallocs per chunk, throughput in chunks per second. Divide by 120 for per sample.
func registerChunkBenchmarks() {
    let perChunk = Benchmark.Configuration(scalingFactor: .kilo)
    let chunkBytes = BenchmarkMetric.custom("Chunk size (bytes)", polarity: .prefersSmaller, useScalingFactor: false)
    var encodeConfiguration = perChunk
    encodeConfiguration.metrics.append(chunkBytes)

    for (name, samples) in Fixtures.chunkVariants {
        // What the head pays per sample: appends into a fresh encoder, no copy-out.
        Benchmark("XOR encode 120 samples (\(name))", configuration: encodeConfiguration) { benchmark in
            var size = 0
            for _ in benchmark.scaledIterations {
                var encoder = XOREncoder()
                for s in samples { encoder.append(timestamp: s.timestamp, value: s.value) }
                size = encoder.byteCount
                blackHole(size)
            }
            benchmark.measurement(chunkBytes, size)
        }

        // What a query pays per sample of a closed chunk.
        let chunk = XORChunk(encoding: samples)
        Benchmark("XOR decode 120 samples, iterator (\(name))", configuration: perChunk) { benchmark in
            for _ in benchmark.scaledIterations {
                var it = chunk.makeIterator()
                var n = 0
                var sum = 0.0
                while let s = it.next() {
                    n += 1
                    sum += s.value
                }
                precondition(n == Fixtures.samplesPerChunk && it.error == nil)
                blackHole(sum)
            }
        }

        // What a query pays per sample now: the whole chunk into a reused buffer.
        Benchmark("XOR decode 120 samples, batch (\(name))", configuration: perChunk) { benchmark in
            var buffer: [Sample] = []
            buffer.reserveCapacity(Fixtures.samplesPerChunk)
            for _ in benchmark.scaledIterations {
                buffer.removeAll(keepingCapacity: true)
                try chunk.decode(into: &buffer)
                var sum = 0.0
                for s in buffer { sum += s.value }
                precondition(buffer.count == Fixtures.samplesPerChunk)
                blackHole(sum)
            }
        }
    }

    let samples = Fixtures.cpuSecondsSamples
    let chunk = XORChunk(encoding: samples)

    // The copy-out the head makes when it cuts a chunk (and for the open chunk of a query).
    Benchmark("XOR encoded() of a 120-sample chunk (cpu-seconds)", configuration: perChunk) { benchmark in
        var encoder = XOREncoder()
        for s in samples { encoder.append(timestamp: s.timestamp, value: s.value) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(encoder.encoded())
        }
    }

    Benchmark("XOR decodeAll() 120 samples (cpu-seconds)", configuration: perChunk) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try chunk.decodeAll())
        }
    }

    let target = samples[90].timestamp
    Benchmark("XOR seek to sample 90 of 120 (cpu-seconds)", configuration: perChunk) { benchmark in
        for _ in benchmark.scaledIterations {
            var it = chunk.makeIterator()
            blackHole(it.seek(to: target))
        }
    }
}
