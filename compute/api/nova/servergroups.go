package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) serverGroupRoutes(rt *httpapi.Router) {}
