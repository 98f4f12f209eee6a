// Starts Swagger UI on the spec this server publishes. A file of its own, so
// the page's Content-Security-Policy allows no inline script at all.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    validatorUrl: null,
    tryItOutEnabled: true,
    showExtensions: true,
    showCommonExtensions: true,
    defaultModelsExpandDepth: -1
  });
});
