"""The SMS gateway's domain package, shared by every function through a Lambda layer."""
