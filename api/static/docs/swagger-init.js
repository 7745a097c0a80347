"use strict";
// Starts Swagger UI on the element that names the OpenAPI document. A file, not an inline script: the page's Content
// Security Policy allows only the app's own scripts. validatorUrl null: the default validator badge is an image from
// an outside server, and these pages load nothing from outside.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
