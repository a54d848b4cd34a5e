// Draws the API reference from this site's OpenAPI schema (no inline script, no other host).
const container = document.getElementById("redoc-container");
Redoc.init(container.dataset.schemaUrl, {}, container);
