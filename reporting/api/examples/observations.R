# Figures from the SET Outcomes API in R, with readr and httr2.
#
# Anonymous calls read the published figures. With a token (an analyst's or the Strategy
# Implementation Group's, from the "Your API token" page), set SET_OUTCOMES_TOKEN and the same
# calls read what your role allows: a role that may see unpublished figures adds
# view = "internal" to read them too.
library(httr2)
library(readr)

base_url <- Sys.getenv("SET_OUTCOMES_URL", "http://127.0.0.1:8000")
token <- Sys.getenv("SET_OUTCOMES_TOKEN")

# The published figures need no token: readr reads the CSV straight from its address.
published <- read_csv(
  paste0(base_url, "/api/v1/observations/?format=csv&kpi=TT-RECOVERY"),
  show_col_types = FALSE
)

# With httr2, a token and any filters: every row comes as CSV, streamed whole, no paging.
api_csv <- function(endpoint, ...) {
  req <- request(base_url) |>
    req_url_path_append("api", "v1", endpoint, "") |>
    req_url_query(format = "csv", ...)
  if (nzchar(token)) req <- req_headers(req, Authorization = paste("Token", token))
  resp <- req_perform(req)
  read_csv(I(resp_body_string(resp)), show_col_types = FALSE)
}

# Suppressed values have blank numbers, which readr reads as NA.
observations <- api_csv("observations", kpi = "TT-RECOVERY", period_from = "2023-04-01")
print(observations[, c("place_code", "period_label", "value", "lower95", "upper95", "suppressed")])

# Each series' latest assessment: change since the 2020-21 baseline, SPC and verdict.
assessments <- api_csv("assessments", kpi = "TT-RECOVERY", latest = "true")
print(assessments[, c("place_code", "period_label", "verdict", "verdict_reason")])
