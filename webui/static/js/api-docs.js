// The API docs page: Swagger UI over /api/v1/openapi.json (vendored, no CDN).
// A signed-in browser may "try it out": its calls use the session cookie, and the
// CSRF token from the page's meta tag goes along as X-CSRFToken.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (req) {
      if (meta) { req.headers["X-CSRFToken"] = meta.getAttribute("content"); }
      return req;
    }
  });
}());
