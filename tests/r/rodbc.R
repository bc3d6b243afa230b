# R's RODBC (Debian r-cran-rodbc) through psqlODBC and unixODBC against Strata's PostgreSQL endpoint: the ODBC
# path R users take (and Excel-style ANSI ODBC applications). Driven by tests/python/test_sqlwire_r.py with
# STRATA_WIRE_HOST / STRATA_WIRE_PORT and TZ=Asia/Kolkata, once in the C locale (psqlODBC then asks for
# client_encoding SQL_ASCII) and once in C.UTF-8. Data: tests/python/wire_demo.py. Prints "ok" at the end.
suppressPackageStartupMessages(library(RODBC))

check <- function(what, got, want) {
  if (!identical(got, want)) {
    stop(sprintf("%s:\n  got:  %s\n  want: %s", what,
                 paste(deparse(got), collapse = " "), paste(deparse(want), collapse = " ")), call. = FALSE)
  }
}

drv <- Sys.glob("/usr/lib/*/odbc/psqlodbcw.so")[1]
if (is.na(drv)) stop("psqlODBC is not installed (Debian: apt-get install odbc-postgresql unixodbc)")
# ODBC timestamps carry no offset and RODBC reads them in R's time zone: the session's TimeZone must be R's.
open_db <- function(db) {
  ch <- odbcDriverConnect(sprintf(
    "Driver=%s;Server=%s;Port=%s;Database=%s;Uid=analyst;Pwd=;SSLMode=disable;ConnSettings={SET TimeZone='%s'}",
    drv, Sys.getenv("STRATA_WIRE_HOST"), Sys.getenv("STRATA_WIRE_PORT"), db, Sys.getenv("TZ")))
  if (!inherits(ch, "RODBC")) stop("could not connect to ", db)
  ch
}
dev <- open_db("dev")
prod <- open_db("prod")

check("dev clean tables", sqlTables(dev, schema = "clean")$TABLE_NAME, c("orders", "typed"))
check("prod clean tables", sqlTables(prod, schema = "clean")$TABLE_NAME, "orders")
cols <- sqlColumns(dev, "typed", schema = "clean")
check("columns", cols$COLUMN_NAME, c("id", "small", "big", "dbl", "amount", "name", "day", "at_tz", "at_local", "flag"))
check("column types", cols$TYPE_NAME,
      c("int4", "int4", "int8", "float8", "numeric", "text", "date", "timestamptz", "timestamp", "bool"))
check("numeric(10,3)", c(cols$COLUMN_SIZE[5], cols$DECIMAL_DIGITS[5]), c(10L, 3L))

name1 <- "Zo\u00eb \u2713 \u65e5\u672c"
check_typed <- function(what, df) {
  check(paste(what, "id"), df$id, c(1L, 2L, 3L))
  check(paste(what, "small"), df$small, c(7L, NA, -32768L))
  check(paste(what, "big"), df$big, c(9007199254740992, NA, -9223372036854775808))
  check(paste(what, "dbl"), df$dbl, c(1.5, NA, -0.125))
  check(paste(what, "amount"), df$amount, c(12.345, NA, -0.5))
  check(paste(what, "name bytes"), lapply(df$name, function(s) if (is.na(s)) NA else charToRaw(s)),
        list(charToRaw(name1), NA, raw(0)))
  check(paste(what, "day"), df$day, as.Date(c("2026-01-02", NA, "1999-12-31")))
  check(paste(what, "at_tz"), as.numeric(df$at_tz), c(1782907200.25, NA, 946684799))
  check(paste(what, "at_local"), format(df$at_local, "%Y-%m-%d %H:%M:%OS6"),
        c("2026-01-02 03:04:05.500000", NA, "1999-12-31 23:59:59.999999"))
  check(paste(what, "flag"), df$flag, c(1L, NA, 0L)) # psqlODBC's default BoolsAsChar=1
}
check_typed("sqlQuery", sqlQuery(dev, "SELECT * FROM clean.typed ORDER BY id", stringsAsFactors = FALSE))
fetched <- sqlFetch(dev, "clean.typed", stringsAsFactors = FALSE)
check_typed("sqlFetch", fetched[order(fetched$id), ])
# RODBC passes SQL through the native encoding: a non-ASCII literal reaches the server intact in a UTF-8 locale.
if (l10n_info()[["UTF-8"]]) {
  check("unicode literal", sqlQuery(dev, sprintf("SELECT id FROM clean.typed WHERE name = '%s'", name1))$id, 1L)
}

check("prod orders", sqlQuery(prod, "SELECT count(*) AS n FROM raw.orders")$n, 20000L)
check("dev orders", sqlQuery(dev, "SELECT count(*) AS n FROM raw.orders")$n, 22000L)
err <- sqlQuery(dev, "SELECT * FROM raw.nope")
check("error", grepl('^42P01 .*table "raw.nope" in environment "dev": not found', err[1]), TRUE)
check("after the error", sqlQuery(dev, "SELECT 1 AS one")$one, 1L)

odbcCloseAll()
cat("ok\n")
