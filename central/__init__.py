"""The fleet side: edge gateways' events into a clustered NATS JetStream, and the CDP's downlinks back."""
