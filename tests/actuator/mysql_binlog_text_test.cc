// ParseBinlogText (actuator/db/mysql_wayback.h) on MySQL 8's mysqlbinlog output: what
// db_divergence reads the errant transactions' rows from on MySQL, which Debian 12 has no
// server of (docs/actuator-steps.md, "MySQL 8: what is tested and what is not"). The text
// below has the shape MySQL's reference manual documents for `mysqlbinlog
// --base64-output=DECODE-ROWS --verbose` (docs/contracts/databases.md); the MariaDB form
// is tested live in tests/actuator/db_divergence_step_test.cc.
#include <gtest/gtest.h>

#include "actuator/db/mysql_wayback.h"

namespace failover {
namespace {

constexpr const char* kMysqlbinlog =
    R"(# The proper term is pseudo_replica_mode, but we use this compatibility alias
/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
DELIMITER /*!*/;
# at 4
#261206  7:40:00 server id 1  end_log_pos 126 CRC32 0x1c2a3b4d 	Start: binlog v 4, server v 8.0.36 created 261206  7:40:00
# at 1234
#261206  7:50:01 server id 1  end_log_pos 1313 CRC32 0x5f1ae7a1 	GTID	last_committed=4	sequence_number=5	rbr_only=yes	original_committed_timestamp=1796543401123456	immediate_commit_timestamp=1796543401123456	transaction_length=310
/*!50718 SET TRANSACTION ISOLATION LEVEL READ COMMITTED*//*!*/;
# original_commit_timestamp=1796543401123456 (2026-12-06 07:50:01.123456 UTC)
# immediate_commit_timestamp=1796543401123456 (2026-12-06 07:50:01.123456 UTC)
/*!80001 SET @@session.original_commit_timestamp=1796543401123456*//*!*/;
/*!80014 SET @@session.original_server_version=80036*//*!*/;
SET @@SESSION.GTID_NEXT= '3E11FA47-71CA-11E1-9E33-C80AA9429562:98'/*!*/;
# at 1313
#261206  7:50:01 server id 1  end_log_pos 1390 CRC32 0x0d0e0f10 	Query	thread_id=12	exec_time=0	error_code=0
SET TIMESTAMP=1796543401/*!*/;
BEGIN
/*!*/;
# at 1390
#261206  7:50:01 server id 1  end_log_pos 1450 CRC32 0x11121314 	Table_map: `shop`.`orders` mapped to number 91
# at 1450
#261206  7:50:01 server id 1  end_log_pos 1500 CRC32 0x15161718 	Write_rows: table id 91 flags: STMT_END_F
### INSERT INTO `shop`.`orders`
### SET
###   @1=98
###   @2='lost \x27order\x27 <b>'
###   @3=NULL
# at 1500
#261206  7:50:01 server id 1  end_log_pos 1531 CRC32 0x191a1b1c 	Xid = 77
COMMIT/*!*/;
SET @@SESSION.GTID_NEXT= 'AUTOMATIC' /* added by mysqlbinlog */ /*!*/;
# at 1531
#261206  7:50:05 server id 1  end_log_pos 1610 CRC32 0x1d1e1f20 	GTID	last_committed=5	sequence_number=6	rbr_only=yes
SET @@SESSION.GTID_NEXT= '3e11fa47-71ca-11e1-9e33-c80aa9429562:99'/*!*/;
BEGIN
/*!*/;
#261206  7:50:05 server id 1  end_log_pos 1700 CRC32 0x21222324 	Update_rows: table id 91 flags: STMT_END_F
### UPDATE `shop`.`orders`
### WHERE
###   @1=1
###   @2='a'
###   @3=NULL
### SET
###   @1=1
###   @2='b'
###   @3=NULL
#261206  7:50:05 server id 1  end_log_pos 1760 CRC32 0x25262728 	Delete_rows: table id 91 flags: STMT_END_F
### DELETE FROM `shop`.`orders`
### WHERE
###   @1=2
###   @2='gone'
###   @3=NULL
COMMIT/*!*/;
SET @@SESSION.GTID_NEXT= 'AUTOMATIC' /* added by mysqlbinlog */ /*!*/;
DELIMITER ;
# End of log file
)";

TEST(MysqlBinlogTextTest, MysqlbinlogTransactionsByGtidWithTimesAndRows) {
  size_t budget = 100;
  bool truncated = false;
  auto txs = ParseBinlogText(kMysqlbinlog, {{"shop.orders", {"id", "note", "shipped"}}}, budget,
                             truncated, /*mysql=*/true);
  ASSERT_EQ(txs.size(), 2u);
  const std::string a = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
  ASSERT_TRUE(txs.count(a + ":98")) << "GTIDs in canonical (lower-case) form";
  const auto& first = txs.at(a + ":98");
  ASSERT_TRUE(first.timestamp.has_value());
  EXPECT_EQ(*first.timestamp, 1796543401.0) << "the GTID event's header time";
  ASSERT_EQ(first.rows.size(), 1u);
  EXPECT_EQ(first.rows[0]["table"], "shop.orders");
  EXPECT_EQ(first.rows[0]["operation"], "insert");
  EXPECT_EQ(first.rows[0]["values"]["id"], "98");
  EXPECT_EQ(first.rows[0]["values"]["note"], "lost 'order' <b>");
  EXPECT_TRUE(first.rows[0]["values"]["shipped"].is_null());

  const auto& second = txs.at(a + ":99");
  EXPECT_EQ(*second.timestamp, 1796543405.0);
  ASSERT_EQ(second.rows.size(), 2u);
  EXPECT_EQ(second.rows[0]["operation"], "update");
  EXPECT_EQ(second.rows[0]["before"]["note"], "a");
  EXPECT_EQ(second.rows[0]["after"]["note"], "b");
  EXPECT_EQ(second.rows[1]["operation"], "delete");
  EXPECT_EQ(second.rows[1]["values"]["note"], "gone");
  EXPECT_FALSE(truncated);
  EXPECT_EQ(budget, 97u);
}

TEST(MysqlBinlogTextTest, RowsBeyondTheBudgetAreTruncatedButTransactionsListed) {
  size_t budget = 1;
  bool truncated = false;
  auto txs = ParseBinlogText(kMysqlbinlog, {}, budget, truncated, /*mysql=*/true);
  EXPECT_EQ(txs.size(), 2u);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(txs.begin()->second.rows[0]["values"]["@1"], "98") << "no column names: @N";
}

}  // namespace
}  // namespace failover
