package nova

import "github.com/gostack/gostack/kit/httpapi"

func (a *API) keypairRoutes(rt *httpapi.Router) {}
