//! The store every in-process benchmark starts from and the bulk load they time, written once so that
//! the bench's sections (the main run, `ratios`, `stats`) measure the same thing the same way.

use std::path::Path;
use std::time::{Duration, Instant};

use trenddojo_core::{AccountInput, ImportTrade, Journal, KeySource, Passphrase, UserInput};

/// The passphrase of every benchmark store.
pub const PASSPHRASE: &str = "benchmark passphrase";

/// The key of every benchmark store.
pub fn key() -> KeySource {
    KeySource::Passphrase(Passphrase::new(PASSPHRASE).expect("passphrase"))
}

/// A new encrypted store at `home` with a pro user and one USD account (New York time) per name.
pub fn journal(home: &Path, names: &[impl AsRef<str>]) -> Journal {
    let j = Journal::init(
        home,
        &key(),
        &UserInput { email: "bench@example.com".into(), tier: Some("pro".into()), ..Default::default() },
    )
    .expect("init");
    for n in names {
        j.add_account(&AccountInput {
            name: n.as_ref().into(),
            currency: "USD".into(),
            balance: "100000".into(),
            timezone: Some("America/New_York".into()),
            ..Default::default()
        })
        .expect("account");
    }
    j
}

/// Insert each batch into the account of the same position in `names`, all in one transaction, the way an
/// import does (summaries computed once, rows written in final form); returns the time taken.
pub fn bulk_insert(j: &Journal, names: &[impl AsRef<str>], batches: &[impl AsRef<[ImportTrade]>]) -> Duration {
    let t0 = Instant::now();
    j.store()
        .write(|tx| {
            let user = j.user()?.id.0;
            for (name, batch) in names.iter().zip(batches) {
                let account = trenddojo_store::accounts::resolve(tx, user, name.as_ref())?;
                for t in batch.as_ref() {
                    trenddojo_core::import_trade(tx, &account, t)?;
                }
            }
            Ok::<_, trenddojo_core::ApiError>(())
        })
        .expect("bulk insert");
    t0.elapsed()
}
