# RPostgreSQL (Debian r-cran-rpostgresql, DBI) against Strata's PostgreSQL endpoint over `strata serve --demo`
# plus dev's clean.typed (tests/python/wire_demo.py seeds it). Driven by tests/python/test_sqlwire_r.py with
# STRATA_WIRE_HOST / STRATA_WIRE_PORT set and TZ=Asia/Kolkata (so a time zone bug cannot hide behind UTC).
# Writes: CREATE TABLE AS in dev, refused in prod and for dbWriteTable.
# Every check compares exact values; the first mismatch stops the script with both values and exit status 1.
# Prints "ok" at the end.
suppressPackageStartupMessages({
  library(DBI)
  library(RPostgreSQL)
})

check <- function(what, got, want) {
  if (!identical(got, want)) {
    stop(sprintf("%s:\n  got:  %s\n  want: %s", what,
                 paste(deparse(got), collapse = " "), paste(deparse(want), collapse = " ")), call. = FALSE)
  }
}

host <- Sys.getenv("STRATA_WIRE_HOST")
port <- as.integer(Sys.getenv("STRATA_WIRE_PORT"))
open_db <- function(db) dbConnect(PostgreSQL(), host = host, port = port, dbname = db, user = "analyst")
dev <- open_db("dev")
prod <- open_db("prod")

# Listing: RPostgreSQL reads pg_tables (table names without their schema, as against PostgreSQL).
check("dev tables", sort(dbListTables(dev)), c("events", "orders", "orders", "typed", "user_orders", "users"))
check("prod tables", sort(dbListTables(prod)), c("events", "orders", "orders", "users"))
check("dev has clean.typed", dbExistsTable(dev, c("clean", "typed")), TRUE)
check("prod lacks clean.typed (written in dev only)", dbExistsTable(prod, c("clean", "typed")), FALSE)
check("raw.nope", dbExistsTable(dev, c("raw", "nope")), FALSE)
check("prod has raw.orders", dbExistsTable(prod, c("raw", "orders")), TRUE)
check("fields", dbListFields(dev, c("clean", "typed")),
      c("id", "small", "big", "dbl", "amount", "name", "day", "at_tz", "at_local", "flag"))
check("raw.users fields", dbListFields(prod, c("raw", "users")),
      c("user_id", "name", "country", "signup_date", "premium"))

# Exact values, NULL -> NA in every type. RPostgreSQL reads int8 and numeric as doubles (as against PostgreSQL).
name1 <- "Zo\u00eb \u2713 \u65e5\u672c"
check_typed <- function(what, df) {
  check(paste(what, "columns"), names(df), c("id", "small", "big", "dbl", "amount", "name", "day", "at_tz", "at_local", "flag"))
  check(paste(what, "id"), df$id, c(1L, 2L, 3L))
  check(paste(what, "small"), df$small, c(7L, NA, -32768L))
  check(paste(what, "big"), df$big, c(9007199254740992, NA, -9223372036854775808))
  check(paste(what, "dbl"), df$dbl, c(1.5, NA, -0.125))
  check(paste(what, "amount"), df$amount, c(12.345, NA, -0.5))
  check(paste(what, "name bytes"), lapply(df$name, function(s) if (is.na(s)) NA else charToRaw(s)),
        list(charToRaw(name1), NA, raw(0)))
  check(paste(what, "name encoding"), Encoding(df$name[1]), "UTF-8")
  check(paste(what, "day"), df$day, as.Date(c("2026-01-02", NA, "1999-12-31")))
  # timestamptz: the instants, whatever R's time zone (TZ=Asia/Kolkata here).
  check(paste(what, "at_tz class"), class(df$at_tz), c("POSIXct", "POSIXt"))
  check(paste(what, "at_tz"), as.numeric(df$at_tz), c(1782907200.25, NA, 946684799))
  # timestamp without time zone: RPostgreSQL reads wall-clock times in R's time zone.
  want_local <- as.POSIXct(c("2026-01-02 03:04:05.5", NA, "1999-12-31 23:59:59.999999"), tz = "")
  check(paste(what, "at_local NA"), is.na(df$at_local), c(FALSE, TRUE, FALSE))
  check(paste(what, "at_local"), abs(as.numeric(df$at_local) - as.numeric(want_local))[c(1, 3)] < 1e-6, c(TRUE, TRUE))
  check(paste(what, "at_local wall clock"), format(df$at_local[c(1, 3)], "%Y-%m-%d %H:%M:%S"),
        c("2026-01-02 03:04:05", "1999-12-31 23:59:59"))
  check(paste(what, "flag"), df$flag, c(TRUE, NA, FALSE))
}
check_typed("dbGetQuery", dbGetQuery(dev, "SELECT * FROM clean.typed ORDER BY id"))
# schema + table is RPostgreSQL's form of a qualified name; DBI::Id(schema=, table=) is not: RPostgreSQL 0.7-5 quotes
# it twice (SELECT * from """clean"".""typed""") and fails the same way against PostgreSQL 15.
read <- dbReadTable(dev, c("clean", "typed"))
check_typed("dbReadTable", read[order(read$id), , drop = FALSE])

check("numeric(18,2)", dbGetQuery(dev, "SELECT 12345678901.25::DECIMAL(18,2) AS d")$d, 12345678901.25)
check("unicode in SQL", charToRaw(dbGetQuery(dev, "SELECT '\u00fc' || name AS u FROM clean.typed WHERE id = 1")$u),
      charToRaw(paste0("\u00fc", name1)))
check("NULL literal", dbGetQuery(dev, "SELECT NULL::INTEGER AS n, NULL::VARCHAR AS s"),
      data.frame(n = NA_integer_, s = NA_character_))

# dev and prod see different data: prod is release 1, dev has a second day of orders.
check("prod orders", dbGetQuery(prod, "SELECT count(*) AS n FROM raw.orders")$n, 20000)
check("dev orders", dbGetQuery(dev, "SELECT count(*) AS n FROM raw.orders")$n, 22000)
users <- dbReadTable(prod, c("raw", "users"))
check("prod users rows", nrow(users), 1000L)
check("prod user 42", users[users$user_id == 42, "name"], "user_0042")
check("signup_date is a Date", class(users$signup_date), "Date")
check("premium is logical", class(users$premium), "logical")

# Errors carry the server's message.
err <- tryCatch({
  dbSendQuery(dev, "SELECT * FROM raw.nope")
  "no error"
}, error = function(e) conditionMessage(e))
check("unknown table error", grepl('table "raw.nope" in environment "dev": not found', err, fixed = TRUE), TRUE)
err <- tryCatch({
  open_db("nope")
  "no error"
}, error = function(e) conditionMessage(e))
check("unknown database error", grepl('database "nope" does not exist', err, fixed = TRUE), TRUE)
# The connections still work after the errors.
check("after errors", dbGetQuery(dev, "SELECT 1 AS one")$one, 1L)

# Writes: dev takes CREATE TABLE zone.name AS (one snapshot, visible at once) and DROP TABLE; prod refuses
# (25006), and so does RPostgreSQL's dbWriteTable (a plain CREATE TABLE + COPY FROM).
check("dbWriteTable refused", suppressWarnings(dbWriteTable(dev, c("features", "w"), data.frame(a = 1:2))), FALSE)
check("CTAS in dev", dbExecute(dev, "CREATE TABLE features.from_r AS SELECT 1::INTEGER AS a, '\u00e9t\u00e9' AS b"), 1L)
check("CTAS visible", dbGetQuery(dev, "SELECT a, b FROM features.from_r"), data.frame(a = 1L, b = "\u00e9t\u00e9"))
err <- tryCatch(dbExecute(prod, "CREATE TABLE features.from_r AS SELECT 1 AS a"), error = function(e) conditionMessage(e))
check("prod refuses writes", grepl("prod is read-only here", err, fixed = TRUE), TRUE)
check("prod does not see it", dbExistsTable(prod, c("features", "from_r")), FALSE)
invisible(dbExecute(dev, "DROP TABLE features.from_r"))
check("dropped", dbExistsTable(dev, c("features", "from_r")), FALSE)

invisible(dbDisconnect(dev))
invisible(dbDisconnect(prod))
cat("ok\n")
