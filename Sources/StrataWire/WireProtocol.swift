/// The Strata wire protocol: what version this build speaks.
///
/// Every message carries its sender's version in `Strata_V1_Envelope.version`; `WireCodec.decode`
/// rejects any other value with `WireError.versionMismatch`, so peers of different versions fail
/// closed instead of misreading each other. Bump it for any change a peer of the previous version
/// would misinterpret (new required meaning of a field, a changed frame layout) — adding an optional
/// field that old peers may ignore does not need a bump.
public enum WireProtocol {
    /// The version this build writes and accepts.
    public static let version: UInt32 = 1
}
