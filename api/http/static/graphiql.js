// Starts GraphiQL on the /graphql page (api/http/web_pages.py). A file rather than an inline
// script, so that the page's Content-Security-Policy can say script-src 'self'.
//
// The bearer token goes into the Headers tab ({"Authorization": "Bearer ..."}); it is not
// persisted in localStorage (a shared workstation keeps no token) and never put in the URL
// (URLs end up in access logs and browser history). The query and variables are kept in the
// URL (?q=...&variables=...) so that a link shares a query.
(function () {
  "use strict";

  var mount = document.getElementById("graphiql");
  var endpoint = mount.getAttribute("data-endpoint");
  var parameters = new URLSearchParams(window.location.search);

  var EXAMPLE_QUERY =
    "# GraphiQL for the backoffice ledger.\n" +
    "#\n" +
    "# Put your bearer token in the Headers tab below:\n" +
    '#   {"Authorization": "Bearer <token from `ledger token --user NAME --roles ...`>"}\n' +
    "#\n" +
    "# Run a query with Ctrl-Enter (or the play button).\n" +
    "{\n  accounts(first: 5) {\n    edges { node { id balance { amount currency } } }\n  }\n}\n";

  function updateURL(key, value) {
    if (value) {
      parameters.set(key, value);
    } else {
      parameters.delete(key);
    }
    var search = parameters.toString();
    history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  // No subscriptionUrl: the API has no subscriptions and no WebSocket endpoint.
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function LedgerGraphiQL() {
    var query = React.useState(parameters.get("q") || EXAMPLE_QUERY);
    var variables = React.useState(parameters.get("variables") || undefined);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: [explorer],
      query: query[0],
      variables: variables[0],
      onEditQuery: function (value) {
        query[1](value);
        updateURL("q", value);
      },
      onEditVariables: function (value) {
        variables[1](value);
        updateURL("variables", value);
      },
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(mount).render(React.createElement(LedgerGraphiQL));
})();
