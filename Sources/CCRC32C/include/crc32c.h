#ifndef TSDB_CRC32C_H
#define TSDB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Extends a CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) over `len` bytes.
/// Pass 0 as `crc` to start. Uses SSE4.2 when the CPU has it, slicing-by-8 otherwise.
uint32_t tsdb_crc32c_update(uint32_t crc, const void *data, size_t len);

/// The same computation, always with the portable table implementation (for tests).
uint32_t tsdb_crc32c_update_portable(uint32_t crc, const void *data, size_t len);

/// 1 when the hardware path is in use.
int tsdb_crc32c_hardware(void);

#endif
