import HummingbirdTLS
import NIOSSL
import TSDB

extension WebConfig.TLSVersion {
    var nio: NIOSSL.TLSVersion {
        switch self {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}

extension WebConfig.TLSServer {
    /// swift-nio-ssl's server configuration for this section: the certificate chain and key
    /// (read now), the versions, ciphers and curves, and the client certificate policy as Go's
    /// `tls.ClientAuthType` means it.
    public func channelConfiguration(file: String) throws(WebConfigError) -> TLSChannelConfiguration {
        let chain: [NIOSSLCertificate], key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certFile)
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw WebConfigError(file: file, message: "tls_server_config: failed to load X509KeyPair (\(certFile), \(keyFile)): \(error)")
        }
        guard !chain.isEmpty else {
            throw WebConfigError(file: file, message: "tls_server_config.cert_file: no certificate in \(goQuote(certFile))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = minVersion.nio
        tls.maximumTLSVersion = maxVersion.nio
        // TLS 1.3's suites are not configurable, in Go as in BoringSSL.
        let older = cipherSuites.filter { !(0x1301...0x1303).contains($0) }
        if !older.isEmpty { tls.cipherSuiteValues = older.map { NIOTLSCipher(rawValue: $0) } }
        if !curves.isEmpty { tls.curves = curves.map { NIOTLSCurve(rawValue: $0) } }
        if let clientCAFile {
            tls.trustRoots = .file(clientCAFile)
            tls.sendCANameList = true
        }
        var acceptAny = false
        switch clientAuthType {
        case .noClientCert: tls.certificateVerification = .none
        case .requestClientCert: tls.certificateVerification = .optionalVerification; acceptAny = true
        case .requireAnyClientCert: tls.certificateVerification = .noHostnameVerification; acceptAny = true
        case .verifyClientCertIfGiven: tls.certificateVerification = .optionalVerification
        case .requireAndVerifyClientCert: tls.certificateVerification = .noHostnameVerification
        }
        do {
            // Fails here, at start-up, on a key that does not match or a bad CA file.
            _ = try NIOSSLContext(configuration: tls)
        } catch {
            throw WebConfigError(file: file, message: "tls_server_config: \(error)")
        }
        if acceptAny {
            return TLSChannelConfiguration(tlsConfiguration: tls) { _, promise in promise.succeed(.certificateVerified) }
        }
        return TLSChannelConfiguration(tlsConfiguration: tls)
    }
}
