//! A pooled connection and the transaction the steps run their statements
//! in. Each connection keeps the statements it has prepared, by their SQL,
//! so that a statement is parsed once per connection, not once per call:
//! a call is then one round trip (bind and execute), not two. Every
//! statement is a `&'static str` constant: nothing is formatted or
//! allocated per call.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement, Transaction};

/// At most this many prepared statements are kept per connection (the
/// directory has about thirty distinct ones).
const MAX_PREPARED: usize = 64;

/// One pooled connection and its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// `sql` prepared on `client`, from `statements` if it was before.
fn prepared(
    client: &mut impl GenericClient,
    statements: &mut HashMap<&'static str, Statement>,
    sql: &'static str,
) -> Result<Statement, postgres::Error> {
    if let Some(s) = statements.get(sql) {
        return Ok(s.clone());
    }
    let s = client.prepare(sql)?;
    if statements.len() < MAX_PREPARED {
        statements.insert(sql, s.clone());
    }
    Ok(s)
}

impl Conn {
    /// A new connection, whose statements outside a transaction block
    /// (each its own transaction) run at `READ COMMITTED` too, whatever
    /// the server's default.
    pub(super) fn new(mut client: Client) -> Result<Self, postgres::Error> {
        client.batch_execute("SET default_transaction_isolation = 'read committed'")?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    /// Runs `sql` on its own: one round trip, one implicit transaction
    /// that commits as the statement ends.
    pub(super) fn query_opt(
        &mut self,
        sql: &'static str,
        p: &Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let s = prepared(&mut self.client, &mut self.statements, sql)?;
        self.client.query_opt(&s, p)
    }

    /// Runs `sql` on its own, as [`query_opt`](Self::query_opt) does.
    pub(super) fn execute(
        &mut self,
        sql: &'static str,
        p: &Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let s = prepared(&mut self.client, &mut self.statements, sql)?;
        self.client.execute(&s, p)
    }

    /// Begins a transaction at `READ COMMITTED`.
    pub(super) fn begin(&mut self) -> Result<Tx<'_>, postgres::Error> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::ReadCommitted)
            .start()?;
        Ok(Tx {
            tx,
            statements: &mut self.statements,
        })
    }
}

/// The statements' parameters.
pub(super) type Params<'p> = [&'p (dyn ToSql + Sync)];

/// A transaction on a pooled connection, preparing each statement once.
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl Tx<'_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        prepared(&mut self.tx, self.statements, sql)
    }

    pub(super) fn query(
        &mut self,
        sql: &'static str,
        p: &Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query(&s, p)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &'static str,
        p: &Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_opt(&s, p)
    }

    pub(super) fn query_one(
        &mut self,
        sql: &'static str,
        p: &Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.query_one(&s, p)
    }

    pub(super) fn execute(
        &mut self,
        sql: &'static str,
        p: &Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.tx.execute(&s, p)
    }

    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }
}
