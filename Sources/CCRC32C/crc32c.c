// CRC-32C (Castagnoli). The hardware path uses the SSE4.2 crc32 instruction,
// chosen at run time; the portable path is slicing-by-8 over tables built once.
#include "crc32c.h"
#include <string.h>

static uint32_t table[8][256];
static int table_ready;

static void build_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][n] = c;
        }
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t tsdb_crc32c_update_portable(uint32_t crc, const void *data, size_t len) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_tables();
    const unsigned char *p = data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        word ^= crc;
        crc = table[7][word & 0xff] ^ table[6][(word >> 8) & 0xff] ^
              table[5][(word >> 16) & 0xff] ^ table[4][(word >> 24) & 0xff] ^
              table[3][(word >> 32) & 0xff] ^ table[2][(word >> 40) & 0xff] ^
              table[1][(word >> 48) & 0xff] ^ table[0][word >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

int tsdb_crc32c_hardware(void) {
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

uint32_t tsdb_crc32c_update(uint32_t crc, const void *data, size_t len) {
    static int mode = -1; // -1 unknown, 0 portable, 1 hardware; a benign race.
    int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
    if (m < 0) {
        m = tsdb_crc32c_hardware();
        __atomic_store_n(&mode, m, __ATOMIC_RELAXED);
    }
    return m ? crc32c_sse42(crc, data, len) : tsdb_crc32c_update_portable(crc, data, len);
}
#else
int tsdb_crc32c_hardware(void) { return 0; }
uint32_t tsdb_crc32c_update(uint32_t crc, const void *data, size_t len) {
    return tsdb_crc32c_update_portable(crc, data, len);
}
#endif
