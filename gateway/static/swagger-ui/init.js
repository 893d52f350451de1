// Swagger UI on the gateway's own OpenAPI document. Kept out of index.html: the page's
// Content-Security-Policy refuses inline scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    // no badge fetched from validator.swagger.io: nothing leaves this origin
    validatorUrl: null,
    // ?url= and ?configUrl= in the address are ignored: the page shows this API only
    queryConfigEnabled: false,
  });
});
