"""The public API's OpenAPI document, generated from the code (`document.build`)."""
