import Uplink

/// Reads a batch's device id and kid from its protected header *before* verifying it, only to
/// pick the enrolled key to verify with; nothing else is trusted until `BatchVerifier` has run.
enum BatchHeaderPeek {
    struct Header {
        var deviceID: String
        var kid: [UInt8]
    }

    static func read(_ bytes: [UInt8]) throws(IngestError) -> Header {
        let protectedBytes: [UInt8]
        do {
            guard case .tagged(COSEHeader.sign1Tag, .array(let parts)) = try CBORDecoder().decode(bytes), parts.count == 4,
                case .bytes(let protected) = parts[0]
            else {
                throw IngestError(.malformedBatch, "not a tagged COSE_Sign1: expected tag 18 around an array of 4 items")
            }
            protectedBytes = protected
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.malformedBatch, "the body is not well-formed CBOR (\(error)): send the COSE_Sign1 batch bytes")
        }
        guard let header = try? CBORDecoder().decode(protectedBytes).map,
            let deviceID = header[COSEHeader.deviceID]?.text,
            let kid = header[COSEHeader.keyID]?.bytes
        else {
            throw IngestError(.malformedBatch, "the protected header is not a map with a device id (-65537) and a kid (4)")
        }
        return Header(deviceID: deviceID, kid: kid)
    }
}
