//! The deliveries `hooksig listen` received, in a redb file: one table of records
//! (everything but the body, as JSON) and one of raw bodies, both keyed by an
//! increasing id, bounded to the newest `keep`. No secret is ever written.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");

/// What happened when a delivery was forwarded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Forward {
    pub url: String,
    /// The app's status, or none when it could not be reached.
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
}

/// One delivery, without its body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    pub received_at: String,
    pub method: String,
    pub path: String,
    /// Header values as text (bytes that are not UTF-8 replaced by U+FFFD).
    pub headers: Vec<(String, String)>,
    /// The values of `headers` that are not UTF-8, as received: their position in
    /// `headers` and their bytes in base64. Replays send these bytes, not the text.
    /// Absent from records of earlier versions and when every value is UTF-8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_values: Vec<(usize, String)>,
    pub size: usize,
    pub verdict: String,
    pub error: Option<String>,
    pub hints: Vec<String>,
    pub key: Option<String>,
    pub forward: Option<Forward>,
}

pub struct Store {
    db: Database,
    keep: u64,
    pub path: PathBuf,
}

/// A store failure, as its message (small, so results stay small).
#[derive(Debug)]
pub struct StoreError(Box<str>);

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(e: E) -> Self {
        StoreError(e.into().to_string().into())
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, StoreError>;

impl Store {
    pub fn open(path: &Path, keep: u64) -> std::result::Result<Store, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let open = || -> Result<Database> {
            let db = Database::create(path)?;
            let txn = db.begin_write()?;
            txn.open_table(RECORDS)?;
            txn.open_table(BODIES)?;
            txn.commit()?;
            Ok(db)
        };
        let db = open().map_err(|e| format!("cannot open the store {}: {e}", path.display()))?;
        Ok(Store { db, keep, path: path.to_owned() })
    }

    /// Adds a delivery (its id is assigned here), dropping the oldest beyond `keep`.
    pub fn insert(&self, mut record: Record, body: &[u8]) -> Result<Record> {
        let txn = self.db.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS)?;
            let mut bodies = txn.open_table(BODIES)?;
            let last = records.last()?.map(|(k, _)| k.value());
            record.id = last.map_or(1, |id| id.saturating_add(1));
            let json = serde_json::to_vec(&record).unwrap_or_default();
            records.insert(record.id, json.as_slice())?;
            bodies.insert(record.id, body)?;
            while records.len()? > self.keep {
                let Some((old, _)) = records.pop_first()? else { break };
                bodies.remove(old.value())?;
            }
        }
        txn.commit()?;
        Ok(record)
    }

    /// Updates a record (after a replay).
    pub fn update(&self, record: &Record) -> Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS)?;
            if records.get(record.id)?.is_some() {
                let json = serde_json::to_vec(record).unwrap_or_default();
                records.insert(record.id, json.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The newest `limit` records with an id below `before` (all with `None`), newest
    /// first.
    pub fn list(&self, before: Option<u64>, limit: usize) -> Result<Vec<Record>> {
        let txn = self.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let mut out = Vec::new();
        for entry in records.range(..before.unwrap_or(u64::MAX))?.rev().take(limit) {
            let (_, value) = entry?;
            if let Ok(record) = serde_json::from_slice::<Record>(value.value()) {
                out.push(record);
            }
        }
        Ok(out)
    }

    pub fn get(&self, id: u64) -> Result<Option<(Record, Vec<u8>)>> {
        let txn = self.db.begin_read()?;
        let records = txn.open_table(RECORDS)?;
        let bodies = txn.open_table(BODIES)?;
        let Some(value) = records.get(id)? else { return Ok(None) };
        let Ok(record) = serde_json::from_slice::<Record>(value.value()) else { return Ok(None) };
        let body = bodies.get(id)?.map(|b| b.value().to_vec()).unwrap_or_default();
        Ok(Some((record, body)))
    }
}

/// `$XDG_DATA_HOME/hooksig/listen.redb`, else `~/.local/share/hooksig/listen.redb`,
/// else `./hooksig-listen.redb`.
pub fn default_path() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/share"))
    });
    match data {
        Some(dir) => dir.join("hooksig").join("listen.redb"),
        None => PathBuf::from("hooksig-listen.redb"),
    }
}
