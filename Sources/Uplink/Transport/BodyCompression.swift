internal import CZlib

/// HTTP body compression for batches: the `deflate` content coding (RFC 9110 §8.4.1.2), which is
/// the zlib format of RFC 1950. The signed batch is compressed on the wire only; what is signed,
/// hashed and stored is always the uncompressed COSE_Sign1.
public enum BodyCompression {
    /// The `Content-Encoding` value lampd sends.
    public static let contentEncoding = "deflate"

    /// Compresses `bytes` at zlib's best compression level.
    public static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var destinationLength = compressBound(uLong(bytes.count))
        var output = [UInt8](repeating: 0, count: Int(destinationLength))
        let status = output.withUnsafeMutableBufferPointer { out in
            bytes.withUnsafeBufferPointer { input in
                compress2(out.baseAddress, &destinationLength, input.baseAddress, uLong(input.count), Z_BEST_COMPRESSION)
            }
        }
        // compress2 fails only on a buffer smaller than compressBound or out of memory.
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")
        output.removeSubrange(Int(destinationLength)...)
        return output
    }

    /// Decompresses a zlib stream, refusing to produce more than `maxOutputBytes` (a small body
    /// that inflates to gigabytes is an attack, not a batch).
    public static func inflate(_ bytes: [UInt8], maxOutputBytes: Int) throws(UplinkError) -> [UInt8] {
        // zlib counts input in 32-bit lengths.
        guard let inputLength = uInt(exactly: bytes.count) else {
            throw UplinkError(.bodyTooLarge, "the deflate body has \(bytes.count) bytes, more than zlib takes at once")
        }
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw UplinkError(.malformedBody, "zlib could not start (out of memory)")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = bytes
        let status: Int32 = input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = inputLength
            while true {
                let produced: (Int32, Int) = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    let result = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (result, out.count - Int(stream.avail_out))
                }
                output.append(contentsOf: chunk[0..<produced.1])
                if output.count > maxOutputBytes { return Z_MEM_ERROR }
                switch produced.0 {
                case Z_STREAM_END: return stream.avail_in == 0 ? Z_STREAM_END : Z_DATA_ERROR
                case Z_OK: continue
                case Z_BUF_ERROR: return stream.avail_in == 0 ? Z_BUF_ERROR : Z_DATA_ERROR
                default: return produced.0
                }
            }
        }
        switch status {
        case Z_STREAM_END:
            return output
        case Z_MEM_ERROR:
            throw UplinkError(.bodyTooLarge, "the deflate body inflates to more than \(maxOutputBytes) bytes")
        case Z_BUF_ERROR:
            throw UplinkError(.malformedBody, "the deflate body is truncated (the zlib stream does not end)")
        default:
            throw UplinkError(.malformedBody, "the body is not a valid zlib (RFC 1950) stream (zlib status \(status))")
        }
    }
}
