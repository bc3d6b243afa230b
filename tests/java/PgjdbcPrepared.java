// Drives pgjdbc's prepared statements with parameters against Strata's PostgreSQL endpoint (what Tableau,
// DBeaver and JDBC applications send) and prints one line per result; sqlwire/jdbc_test.go runs it with
//   java -cp postgresql.jar tests/java/PgjdbcPrepared.java jdbc:postgresql://127.0.0.1:PORT/dev?user=analyst
// Every statement runs more often than pgjdbc's prepareThreshold (5), so both its unnamed statements and its
// named server-side statements (binary transfer of results) are exercised.
import java.math.BigDecimal;
import java.sql.*;
import java.time.*;
import java.util.*;

public class PgjdbcPrepared {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            String q = "SELECT name, amount, at_tz FROM clean.typed WHERE id = ? AND name = ? AND amount = ? AND at_tz < ? AND flag = ? AND day = ? AND score > ?";
            try (PreparedStatement ps = c.prepareStatement(q)) {
                for (int i = 0; i < 7; i++) {
                    ps.setInt(1, 1);
                    ps.setString(2, "Zoë ✓ 日本");
                    ps.setBigDecimal(3, new BigDecimal("12.345"));
                    ps.setTimestamp(4, Timestamp.valueOf("2026-07-02 00:00:00"));
                    ps.setBoolean(5, true);
                    ps.setDate(6, java.sql.Date.valueOf("2026-01-02"));
                    ps.setDouble(7, 1.25);
                    try (ResultSet rs = ps.executeQuery()) {
                        List<String> rows = new ArrayList<>();
                        while (rs.next()) rows.add(rs.getString(1) + " " + rs.getBigDecimal(2) + " " + rs.getObject(3, OffsetDateTime.class));
                        if (i == 0 || i == 6) System.out.println("typed " + i + " " + rows);
                    }
                }
            }
            // The row of NULLs, in text (first runs) and binary (named statement): every getter says NULL.
            try (PreparedStatement ps = c.prepareStatement("SELECT name, amount, score, at_tz, day, flag FROM clean.typed WHERE id = ?")) {
                for (int i = 0; i < 7; i++) {
                    ps.setInt(1, 2);
                    try (ResultSet rs = ps.executeQuery()) {
                        List<String> vals = new ArrayList<>();
                        while (rs.next()) {
                            vals.add(rs.getString(1));
                            vals.add(String.valueOf(rs.getBigDecimal(2)));
                            double d = rs.getDouble(3);
                            vals.add(d + "/" + rs.wasNull());
                            vals.add(String.valueOf(rs.getObject(4, OffsetDateTime.class)));
                            vals.add(String.valueOf(rs.getObject(5, LocalDate.class)));
                            boolean b = rs.getBoolean(6);
                            vals.add(b + "/" + rs.wasNull());
                        }
                        if (i == 0 || i == 6) System.out.println("nulls " + i + " " + vals);
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::BIGINT * 2, ? || '!', ?::DECIMAL(12,4) + 1, ?::TIMESTAMP, ?::DATE, ? IS NULL, ?::TIMESTAMPTZ")) {
                for (int i = 0; i < 7; i++) {
                    ps.setLong(1, 21L + i);
                    ps.setString(2, "it's");
                    ps.setBigDecimal(3, new BigDecimal("-0.0625"));
                    ps.setTimestamp(4, Timestamp.valueOf("1999-12-31 23:59:59.123456"));
                    ps.setObject(5, LocalDate.of(2026, 2, 28));
                    ps.setNull(6, Types.INTEGER);
                    ps.setObject(7, OffsetDateTime.of(2026, 7, 1, 12, 0, 0, 0, ZoneOffset.ofHoursMinutes(5, 30)));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (i == 0 || i == 6) {
                            System.out.println("exprs " + i + " " + rs.getLong(1) + " " + rs.getString(2) + " " + rs.getBigDecimal(3) + " "
                                + rs.getTimestamp(4) + " " + rs.getObject(5, LocalDate.class) + " " + rs.getBoolean(6) + " "
                                + rs.getObject(7, OffsetDateTime.class).toInstant());
                        }
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::SMALLINT + 1, ?::REAL * 2, ?::BLOB, ?::UUID, ?::TIME, ?::INTEGER[], ?::VARCHAR[], ?::TIMESTAMP, ?::INTERVAL")) {
                for (int i = 0; i < 7; i++) {
                    ps.setShort(1, (short) 7);
                    ps.setFloat(2, 1.5f);
                    ps.setBytes(3, new byte[] {0, 1, (byte) 0xff});
                    ps.setObject(4, UUID.fromString("6ba7b810-9dad-11d1-80b4-00c04fd430c8"));
                    ps.setTime(5, Time.valueOf("10:11:12"));
                    ps.setArray(6, c.createArrayOf("int4", new Integer[] {1, null, 3}));
                    ps.setArray(7, c.createArrayOf("text", new String[] {"a b", "x\"y", ""}));
                    ps.setObject(8, LocalDateTime.of(2026, 1, 2, 3, 4, 5, 500_000_000));
                    ps.setObject(9, new org.postgresql.util.PGInterval("1 day 02:00:00"));
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (i == 0 || i == 6) {
                            System.out.println("more " + i + " " + rs.getShort(1) + " " + rs.getFloat(2) + " " + HexFormat.of().formatHex(rs.getBytes(3))
                                + " " + rs.getObject(4) + " " + rs.getTime(5) + " " + Arrays.toString((Object[]) rs.getArray(6).getArray())
                                + " " + Arrays.toString((Object[]) rs.getArray(7).getArray()) + " " + rs.getObject(8, LocalDateTime.class)
                                + " " + rs.getString(9));
                        }
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*), sum(id) FROM clean.big WHERE id >= ? AND id < ?")) {
                long total = 0;
                for (int i = 0; i < 10; i++) {
                    ps.setInt(1, i * 1000);
                    ps.setLong(2, i * 1000 + 10);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        total += rs.getLong(2);
                        if (rs.getLong(1) != 10) throw new AssertionError("count " + rs.getLong(1));
                    }
                }
                System.out.println("loop sum " + total);
            }
            // A batch of writes (dev, developer role): one INSERT per parameter set.
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE clean.jdbc_batch AS SELECT 0::BIGINT AS id, 'zero' AS label");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO clean.jdbc_batch SELECT ?, ?")) {
                for (int i = 1; i <= 3; i++) {
                    ps.setLong(1, i);
                    ps.setString(2, "row " + i);
                    ps.addBatch();
                }
                System.out.println("batch " + Arrays.toString(ps.executeBatch()));
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id, label FROM clean.jdbc_batch ORDER BY id")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) rows.add(rs.getLong(1) + ":" + rs.getString(2));
                System.out.println("batched " + rows);
            }
        }
    }
}
