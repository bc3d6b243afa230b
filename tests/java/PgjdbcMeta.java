// Drives pgjdbc (the driver of Tableau, DBeaver, Metabase, DataGrip) against Strata's PostgreSQL endpoint and
// prints what it reports, one line per fact; sqlwire/catalog_jdbc_test.go runs it with
//   java -cp postgresql.jar tests/java/PgjdbcMeta.java jdbc:postgresql://127.0.0.1:PORT/dev?user=analyst
// and compares the output with what pgjdbc reports for the same tables on PostgreSQL 15.
import java.sql.*;
import java.util.*;

public class PgjdbcMeta {
    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = c.getMetaData();
            System.out.println("product " + md.getDatabaseProductName() + " " + md.getDatabaseMajorVersion());
            try (ResultSet rs = md.getSchemas()) {
                List<String> s = new ArrayList<>();
                while (rs.next()) s.add(rs.getString("TABLE_SCHEM"));
                System.out.println("schemas " + s);
            }
            try (ResultSet rs = md.getTables(null, "raw", "%", new String[] {"TABLE"})) {
                while (rs.next()) {
                    System.out.println("table " + rs.getString("TABLE_CAT") + " " + rs.getString("TABLE_SCHEM") + "."
                        + rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE") + " " + rs.getString("REMARKS"));
                }
            }
            try (ResultSet rs = md.getTables(null, "strata", "rel%", null)) {
                while (rs.next()) System.out.println("table " + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME") + " " + rs.getString("TABLE_TYPE"));
            }
            try (ResultSet rs = md.getColumns(null, "raw", "people", "%")) {
                while (rs.next()) {
                    System.out.println("column " + rs.getString("COLUMN_NAME") + " " + rs.getInt("DATA_TYPE") + " "
                        + rs.getString("TYPE_NAME") + " " + rs.getInt("COLUMN_SIZE") + " " + rs.getInt("ORDINAL_POSITION")
                        + " " + rs.getString("IS_NULLABLE"));
                }
            }
            try (ResultSet rs = md.getPrimaryKeys(null, "raw", "people")) {
                int n = 0;
                while (rs.next()) n++;
                System.out.println("primary keys " + n);
            }
            // A fetch-size cursor, as Tableau and DBeaver read: autocommit off, pages of 100 rows.
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.setFetchSize(100);
                try (ResultSet rs = st.executeQuery("SELECT id, name, score FROM raw.big ORDER BY id")) {
                    ResultSetMetaData rm = rs.getMetaData();
                    System.out.println("meta " + rm.getColumnTypeName(1) + " " + rm.getColumnTypeName(2) + " "
                        + rm.getColumnTypeName(3) + " " + rm.getTableName(1) + " " + rm.getColumnName(2) + " "
                        + rm.isNullable(1));
                    long n = 0, sum = 0;
                    while (rs.next()) {
                        n++;
                        sum += rs.getLong(1);
                    }
                    System.out.println("fetched " + n + " rows, id sum " + sum);
                }
            }
            c.commit();
        }
    }
}
