import Benchmark
@_spi(Chunks) import TSDB

/// XOR chunk encoding and decoding. Each iteration handles 1000 chunks of 120 samples
/// (`scalingFactor: .kilo`), so with `--scale` the wall clock and mallocs read per chunk
/// and throughput reads in chunks per second; divide by 120 for per sample.
func registerChunkBenchmarks() {
    let perChunk = Benchmark.Configuration(scalingFactor: .kilo)

    for (name, samples) in [("counter", Fixtures.counterSamples), ("random", Fixtures.randomSamples)] {
        Benchmark("XOR encode 120 samples (\(name))", configuration: perChunk) { benchmark in
            for _ in benchmark.scaledIterations {
                var encoder = XOREncoder()
                for s in samples { encoder.append(timestamp: s.timestamp, value: s.value) }
                blackHole(encoder.byteCount)
            }
        }

        Benchmark("XOR encode 120 samples + encoded() (\(name))", configuration: perChunk) { benchmark in
            for _ in benchmark.scaledIterations {
                var encoder = XOREncoder()
                for s in samples { encoder.append(timestamp: s.timestamp, value: s.value) }
                blackHole(encoder.encoded())
            }
        }

        let chunk = Fixtures.chunk(samples)
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

        Benchmark("XOR decode 120 samples, decodeAll() (\(name))", configuration: perChunk) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try chunk.decodeAll())
            }
        }
    }

    let chunk = Fixtures.chunk(Fixtures.counterSamples)
    let lastQuarter = Fixtures.counterSamples[90].timestamp
    Benchmark("XOR seek to sample 90 of 120 (counter)", configuration: perChunk) { benchmark in
        for _ in benchmark.scaledIterations {
            var it = chunk.makeIterator()
            blackHole(it.seek(to: lastQuarter))
        }
    }
}
