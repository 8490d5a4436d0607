#!/usr/bin/env bash
# Regenerates Sources/RemoteProtocol/Generated/*.pb.swift from Sources/RemoteProtocol/Proto.
# Needs protoc (Debian's protobuf-compiler) and protoc-gen-swift of the swift-protobuf version
# Package.swift names (1.39.0), built once:
#   git clone /opt/swift-packages/apple/swift-protobuf.git /tmp/swift-protobuf
#   git -C /tmp/swift-protobuf checkout 1.39.0
#   swift build -c release --package-path /tmp/swift-protobuf --product protoc-gen-swift
# CI does not run this: the generated code is committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
plugin=${PROTOC_GEN_SWIFT:-/tmp/swift-protobuf/.build/release/protoc-gen-swift}
[[ -x $plugin ]] || { echo "protoc-gen-swift not found at $plugin (set PROTOC_GEN_SWIFT)" >&2; exit 1; }
proto=Sources/RemoteProtocol/Proto
out=Sources/RemoteProtocol/Generated
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" -I "$proto" \
  --swift_out="$out" --swift_opt=Visibility=Public \
  "$proto"/types.proto "$proto"/remote.proto
echo "generated: $(ls "$out")"
