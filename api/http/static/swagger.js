// Starts Swagger UI on the /docs page (api/http/web_pages.py). A file rather than an inline
// script, so that the page's Content-Security-Policy can say script-src 'self'.
(function () {
  "use strict";

  var mount = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: mount.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // no spec sent to validator.swagger.io
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
