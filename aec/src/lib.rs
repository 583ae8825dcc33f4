//! Decoding of CCSDS 121.0-B (Adaptive Entropy Coding) streams, as GRIB2
//! data template 5.42 carries them, with the system libaec: the library
//! ecCodes and wgrib2 use. The pure-Rust `rust-aec` crate decodes the same
//! streams to the same bytes but several times slower (see
//! docs/performance.md, "GRIB2 decode").
//!
//! The only entry point, [`decode`], decodes a whole buffer into a
//! caller-sized output: libaec allocates nothing from the stream beyond
//! its fixed-size state, and writes no more than the output's length.

use std::os::raw::{c_int, c_uint};

/// Samples are signed (two's complement) rather than unsigned.
pub const DATA_SIGNED: u32 = 1;
/// Samples of 17–24 bits take 3 bytes rather than 4.
pub const DATA_3BYTE: u32 = 2;
/// Samples are written most significant byte first.
pub const DATA_MSB: u32 = 4;
/// The stream was preprocessed (unit-delay predictor and folding).
pub const DATA_PREPROCESS: u32 = 8;
/// The restricted set of code options (for 1–4 bit samples).
pub const RESTRICTED: u32 = 16;
/// Each reference sample interval starts on a byte boundary.
pub const PAD_RSI: u32 = 32;

/// libaec's `struct aec_stream` (libaec.h, identical in 1.0.x and 1.1.x).
#[repr(C)]
struct AecStream {
    next_in: *const u8,
    avail_in: usize,
    total_in: usize,
    next_out: *mut u8,
    avail_out: usize,
    total_out: usize,
    bits_per_sample: c_uint,
    block_size: c_uint,
    rsi: c_uint,
    flags: c_uint,
    state: *mut std::ffi::c_void,
}

unsafe extern "C" {
    /// Initialises the decoder, decodes `avail_in` bytes into at most
    /// `avail_out` bytes, and frees its state again.
    fn aec_buffer_decode(strm: *mut AecStream) -> c_int;
}

/// Why a stream could not be decoded (libaec's error codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AecError {
    /// The parameters are invalid (bits per sample, block size, RSI).
    #[error("invalid AEC parameters")]
    Config,
    /// The stream is corrupt or ends early.
    #[error("corrupt AEC stream")]
    Stream,
    /// The stream decodes to something invalid.
    #[error("invalid AEC data")]
    Data,
    /// libaec could not allocate its state.
    #[error("out of memory in libaec")]
    Memory,
    /// Any other code.
    #[error("libaec error {0}")]
    Other(i32),
}

/// Bytes libaec writes per sample of `bits_per_sample` bits with `flags`.
pub fn bytes_per_sample(bits_per_sample: u32, flags: u32) -> usize {
    match bits_per_sample {
        0..=8 => 1,
        9..=16 => 2,
        17..=24 if flags & DATA_3BYTE != 0 => 3,
        _ => 4,
    }
}

/// Refuses what CCSDS 121.0-B and GRIB2 do not allow, before libaec sees
/// it: libaec 1.0.6 (Debian 12) does not check the block size itself, and
/// a corrupt stream with a block size of 175 overran its heap buffers
/// (found by `decode/tests/fuzz_decode.rs`). [`decode`] checks too; callers
/// check first to refuse a stream before sizing anything for it.
pub fn check(bits_per_sample: u32, block_size: u32, rsi: u32, flags: u32) -> Result<(), AecError> {
    const KNOWN: u32 = DATA_SIGNED | DATA_3BYTE | DATA_MSB | DATA_PREPROCESS | RESTRICTED | PAD_RSI;
    let ok = (1..=32).contains(&bits_per_sample)
        && matches!(block_size, 8 | 16 | 32 | 64)
        && (1..=4096).contains(&rsi)
        && flags & !KNOWN == 0
        && (flags & RESTRICTED == 0 || bits_per_sample <= 4);
    if ok { Ok(()) } else { Err(AecError::Config) }
}

/// Decodes the AEC stream `input` into `out`, filling it with samples of
/// [`bytes_per_sample`] bytes each. Parameters outside the standard (block
/// size 8, 16, 32 or 64; RSI 1–4096; 1–32 bits; the restricted option
/// only up to 4 bits; no flags beyond [`PAD_RSI`]) are a
/// [`AecError::Config`]. Returns the number of bytes written,
/// which is less than `out.len()` when the stream holds fewer samples.
pub fn decode(
    input: &[u8],
    bits_per_sample: u32,
    block_size: u32,
    rsi: u32,
    flags: u32,
    out: &mut [u8],
) -> Result<usize, AecError> {
    check(bits_per_sample, block_size, rsi, flags)?;
    let mut strm = AecStream {
        next_in: input.as_ptr(),
        avail_in: input.len(),
        total_in: 0,
        next_out: out.as_mut_ptr(),
        avail_out: out.len(),
        total_out: 0,
        bits_per_sample,
        block_size,
        rsi,
        flags,
        state: std::ptr::null_mut(),
    };
    // SAFETY: `strm` is a valid, exclusively borrowed `aec_stream` whose
    // input and output pointers and lengths come from live slices that
    // outlive the call; libaec reads at most `avail_in` bytes, writes at
    // most `avail_out` bytes, and allocates and frees its own `state`
    // within the call (aec_buffer_decode = init + decode + end).
    let code = unsafe { aec_buffer_decode(&mut strm) };
    match code {
        0 => Ok(strm.total_out),
        -1 => Err(AecError::Config),
        -2 => Err(AecError::Stream),
        -3 => Err(AecError::Data),
        -4 => Err(AecError::Memory),
        other => Err(AecError::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_sizes_follow_libaec() {
        assert_eq!(bytes_per_sample(8, 0), 1);
        assert_eq!(bytes_per_sample(12, 0), 2);
        assert_eq!(bytes_per_sample(24, DATA_3BYTE), 3);
        assert_eq!(bytes_per_sample(24, 0), 4);
        assert_eq!(bytes_per_sample(32, DATA_3BYTE), 4);
    }

    unsafe extern "C" {
        fn aec_buffer_encode(strm: *mut AecStream) -> c_int;
    }

    /// libaec's encoder, for round trips.
    fn encode(samples: &[u8], bits: u32, block: u32, rsi: u32, flags: u32) -> Vec<u8> {
        let mut out = vec![0u8; samples.len() * 2 + 1024];
        let mut strm = AecStream {
            next_in: samples.as_ptr(),
            avail_in: samples.len(),
            total_in: 0,
            next_out: out.as_mut_ptr(),
            avail_out: out.len(),
            total_out: 0,
            bits_per_sample: bits,
            block_size: block,
            rsi,
            flags,
            state: std::ptr::null_mut(),
        };
        // SAFETY: as in `decode`, with live input and output slices.
        let code = unsafe { aec_buffer_encode(&mut strm) };
        assert_eq!(code, 0, "encode");
        out.truncate(strm.total_out);
        out
    }

    #[test]
    fn round_trips_what_libaec_encodes() {
        // A smooth 16-bit field with some noise, as GRIB2 producers write
        // it (MSB first, preprocessed), and 3-byte 20-bit samples.
        let values: Vec<u32> = (0..10_000u32)
            .map(|k| 30_000 + (k % 700) * 7 + (k.wrapping_mul(2_654_435_761) >> 29))
            .collect();
        let flags = DATA_MSB | DATA_PREPROCESS;
        let samples: Vec<u8> = values
            .iter()
            .flat_map(|v| (*v as u16).to_be_bytes())
            .collect();
        let stream = encode(&samples, 16, 32, 128, flags);
        assert!(stream.len() < samples.len(), "compressed");
        let mut out = vec![0u8; samples.len()];
        assert_eq!(
            decode(&stream, 16, 32, 128, flags, &mut out),
            Ok(samples.len())
        );
        assert_eq!(out, samples);

        let flags = DATA_MSB | DATA_PREPROCESS | DATA_3BYTE;
        let samples: Vec<u8> = values
            .iter()
            .flat_map(|v| (v * 13).to_be_bytes()[1..].to_vec())
            .collect();
        let stream = encode(&samples, 20, 16, 64, flags);
        let mut out = vec![0u8; samples.len()];
        assert_eq!(
            decode(&stream, 20, 16, 64, flags, &mut out),
            Ok(samples.len())
        );
        assert_eq!(out, samples);
        // A stream cut short decodes fewer bytes than asked for, or fails.
        let mut short = vec![0u8; samples.len()];
        let cut = decode(&stream[..stream.len() / 2], 20, 16, 64, flags, &mut short);
        assert!(!matches!(cut, Ok(n) if n >= samples.len()), "{cut:?}");
    }

    #[test]
    fn bad_parameters_and_garbage_are_errors_not_crashes() {
        let mut out = [0u8; 64];
        // Block sizes other than 8, 16, 32 and 64 (libaec 1.0.6 would
        // take them and overrun its buffers), RSI 0 or above 4096, unknown
        // flags, and 0 or 33 bits per sample are invalid.
        for (block, rsi, flags) in [
            (7, 128, 0),
            (175, 128, 0),
            (32, 0, 0),
            (32, 4097, 0),
            (32, 128, 64),
        ] {
            assert_eq!(
                decode(&[0; 16], 16, block, rsi, flags, &mut out),
                Err(AecError::Config)
            );
        }
        assert_eq!(
            decode(&[0; 16], 8, 32, 128, RESTRICTED, &mut out),
            Err(AecError::Config)
        );
        assert_eq!(
            decode(&[0; 16], 0, 32, 128, 0, &mut out),
            Err(AecError::Config)
        );
        assert_eq!(
            decode(&[0; 16], 33, 32, 128, 0, &mut out),
            Err(AecError::Config)
        );
        // Random bytes decode to something or fail, within the output.
        let mut state = 0x1234_5678u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        let mut big = vec![0u8; 1 << 16];
        if let Ok(n) = decode(&noise, 16, 32, 128, DATA_MSB | DATA_PREPROCESS, &mut big) {
            assert!(n <= big.len());
        }
    }
}
