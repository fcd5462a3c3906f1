"""PKI operations for the bureau's e-licence seal: root CA, seal certificate over the KMS key, publishing."""
