"""invoker: open-loop gRPC replay of load.json on worker nodes, and a proxy emulator."""
