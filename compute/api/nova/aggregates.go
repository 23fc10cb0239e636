package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) aggregateRoutes(rt *httpapi.Router) {}
