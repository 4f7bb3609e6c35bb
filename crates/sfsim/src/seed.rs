//! The demo org: the same users, accounts, contacts, leads, opportunities and tasks on every start
//! (names from fixed tables picked by a seeded generator). Stamps are relative to the start time so
//! that the 30-day `updated/` and 15-day `deleted/` windows see a realistic mix.

use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::{
    clock::format_datetime,
    ids::IdGenerator,
    schema,
    schema::OPPORTUNITY_STAGES,
    store::{OrgUser, Record, Store},
    DEMO_PASSWORD,
};

pub const ACCOUNT_COUNT: usize = 40;
pub const CONTACT_COUNT: usize = 220;
pub const OPPORTUNITY_COUNT: usize = 60;
pub const TASK_COUNT: usize = 80;
pub const LEAD_COUNT: usize = 30;

/// How many records of each kind the org starts with (`--accounts N --contacts N …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedCounts {
    pub accounts: usize,
    pub contacts: usize,
    pub opportunities: usize,
    pub tasks: usize,
}

impl Default for SeedCounts {
    fn default() -> Self {
        Self {
            accounts: ACCOUNT_COUNT,
            contacts: CONTACT_COUNT,
            opportunities: OPPORTUNITY_COUNT,
            tasks: TASK_COUNT,
        }
    }
}

/// The stamps of one seeding: `base` is when most demo data was last touched (an hour before the
/// start, on a whole minute); `import` a data load 47 days earlier that stamped many records with
/// one and the same SystemModstamp, as imports do.
struct Stamps {
    base: OffsetDateTime,
    import: OffsetDateTime,
}

const SEED: u64 = 2024_0501;

/// (username, first, last, title, alias, admin)
const USERS: &[(&str, &str, &str, &str, &str, bool)] = &[
    (
        "rep@demo.example",
        "Riley",
        "Parker",
        "Account Executive",
        "rpark",
        false,
    ),
    (
        "rep2@demo.example",
        "Jordan",
        "Ellis",
        "Account Executive",
        "jelli",
        false,
    ),
    (
        "admin@demo.example",
        "Morgan",
        "Reyes",
        "Salesforce Administrator",
        "mreye",
        true,
    ),
];

/// (name, web domain, industry, city, state, country, phone area code)
type Company = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const COMPANIES: &[Company] = &[
    (
        "Northwind Traders",
        "northwindtraders.com",
        "Retail",
        "Seattle",
        "WA",
        "USA",
        "206",
    ),
    (
        "Bluebird Logistics",
        "bluebirdlogistics.com",
        "Transportation",
        "Memphis",
        "TN",
        "USA",
        "901",
    ),
    (
        "Cedar Ridge Health",
        "cedarridgehealth.org",
        "Healthcare",
        "Denver",
        "CO",
        "USA",
        "303",
    ),
    (
        "Harbor Point Capital",
        "harborpointcap.com",
        "Banking",
        "Boston",
        "MA",
        "USA",
        "617",
    ),
    (
        "Ironclad Manufacturing",
        "ironcladmfg.com",
        "Manufacturing",
        "Cleveland",
        "OH",
        "USA",
        "216",
    ),
    (
        "Lumen Analytics",
        "lumenanalytics.io",
        "Technology",
        "Austin",
        "TX",
        "USA",
        "512",
    ),
    (
        "Meridian Foods",
        "meridianfoods.com",
        "Food & Beverage",
        "Chicago",
        "IL",
        "USA",
        "312",
    ),
    (
        "Summit Outdoor Gear",
        "summitoutdoor.com",
        "Retail",
        "Salt Lake City",
        "UT",
        "USA",
        "801",
    ),
    (
        "Pinecrest Insurance",
        "pinecrestins.com",
        "Insurance",
        "Hartford",
        "CT",
        "USA",
        "860",
    ),
    (
        "Atlas Engineering",
        "atlaseng.com",
        "Engineering",
        "Houston",
        "TX",
        "USA",
        "713",
    ),
    (
        "Silverline Telecom",
        "silverlinetel.com",
        "Communications",
        "Atlanta",
        "GA",
        "USA",
        "404",
    ),
    (
        "Greenfield Energy",
        "greenfieldenergy.com",
        "Energy",
        "Tulsa",
        "OK",
        "USA",
        "918",
    ),
    (
        "Oakmont University",
        "oakmont.edu",
        "Education",
        "Ann Arbor",
        "MI",
        "USA",
        "734",
    ),
    (
        "Redwood Media Group",
        "redwoodmedia.com",
        "Media",
        "Los Angeles",
        "CA",
        "USA",
        "213",
    ),
    (
        "Keystone Construction",
        "keystonebuild.com",
        "Construction",
        "Pittsburgh",
        "PA",
        "USA",
        "412",
    ),
    (
        "Clearwater Biotech",
        "clearwaterbio.com",
        "Biotechnology",
        "San Diego",
        "CA",
        "USA",
        "619",
    ),
    (
        "Falcon Aerospace",
        "falconaero.com",
        "Aerospace",
        "Wichita",
        "KS",
        "USA",
        "316",
    ),
    (
        "Brightpath Consulting",
        "brightpath.co",
        "Consulting",
        "Arlington",
        "VA",
        "USA",
        "703",
    ),
    (
        "Copperleaf Hotels",
        "copperleafhotels.com",
        "Hospitality",
        "Las Vegas",
        "NV",
        "USA",
        "702",
    ),
    (
        "Vantage Retail Partners",
        "vantageretail.com",
        "Retail",
        "Minneapolis",
        "MN",
        "USA",
        "612",
    ),
    (
        "Horizon Pharmaceuticals",
        "horizonpharma.com",
        "Healthcare",
        "Raleigh",
        "NC",
        "USA",
        "919",
    ),
    (
        "Stonebridge Legal",
        "stonebridgelegal.com",
        "Legal",
        "Philadelphia",
        "PA",
        "USA",
        "215",
    ),
    (
        "Quantum Semiconductors",
        "quantumsemi.com",
        "Electronics",
        "San Jose",
        "CA",
        "USA",
        "408",
    ),
    (
        "Riverside Credit Union",
        "riversidecu.org",
        "Banking",
        "Sacramento",
        "CA",
        "USA",
        "916",
    ),
    (
        "Maple Leaf Shipping",
        "mapleleafship.ca",
        "Transportation",
        "Toronto",
        "ON",
        "Canada",
        "416",
    ),
    (
        "Evergreen Landscaping",
        "evergreenland.com",
        "Agriculture",
        "Portland",
        "OR",
        "USA",
        "503",
    ),
    (
        "Nimbus Cloud Services",
        "nimbuscloud.io",
        "Technology",
        "San Francisco",
        "CA",
        "USA",
        "415",
    ),
    (
        "Granite State Utilities",
        "granitestateutil.com",
        "Utilities",
        "Manchester",
        "NH",
        "USA",
        "603",
    ),
    (
        "Sunrise Dental Group",
        "sunrisedental.com",
        "Healthcare",
        "Phoenix",
        "AZ",
        "USA",
        "602",
    ),
    (
        "Blue Harbor Seafood",
        "blueharborseafood.com",
        "Food & Beverage",
        "Portland",
        "ME",
        "USA",
        "207",
    ),
    (
        "Trailhead Apparel",
        "trailheadapparel.com",
        "Apparel",
        "Boulder",
        "CO",
        "USA",
        "720",
    ),
    (
        "Westgate Properties",
        "westgateprop.com",
        "Real Estate",
        "Dallas",
        "TX",
        "USA",
        "214",
    ),
    (
        "Orion Security",
        "orionsecurity.com",
        "Technology",
        "Reston",
        "VA",
        "USA",
        "571",
    ),
    (
        "Pacific Rim Imports",
        "pacificrimimports.com",
        "Wholesale",
        "Oakland",
        "CA",
        "USA",
        "510",
    ),
    (
        "Lakeshore Medical Supply",
        "lakeshoremed.com",
        "Healthcare",
        "Milwaukee",
        "WI",
        "USA",
        "414",
    ),
    (
        "Crescent Financial",
        "crescentfin.com",
        "Finance",
        "New Orleans",
        "LA",
        "USA",
        "504",
    ),
    (
        "Beacon Hill Architects",
        "beaconhillarch.com",
        "Engineering",
        "Boston",
        "MA",
        "USA",
        "617",
    ),
    (
        "Prairie Wind Farms",
        "prairiewind.com",
        "Energy",
        "Des Moines",
        "IA",
        "USA",
        "515",
    ),
    (
        "Velocity Motors",
        "velocitymotors.com",
        "Automotive",
        "Detroit",
        "MI",
        "USA",
        "313",
    ),
    (
        "Juniper Software",
        "junipersoftware.com",
        "Technology",
        "Raleigh",
        "NC",
        "USA",
        "984",
    ),
];

const FIRST_NAMES: &[&str] = &[
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Ethan",
    "Sophia",
    "Mason",
    "Isabella",
    "Lucas",
    "Mia",
    "Logan",
    "Amelia",
    "James",
    "Harper",
    "Benjamin",
    "Evelyn",
    "Elijah",
    "Abigail",
    "Henry",
    "Emily",
    "Daniel",
    "Elizabeth",
    "Matthew",
    "Sofia",
    "Samuel",
    "Avery",
    "David",
    "Ella",
    "Joseph",
    "Scarlett",
    "Carter",
    "Grace",
    "Owen",
    "Chloe",
    "Wyatt",
    "Victoria",
    "John",
    "Priya",
    "Jack",
    "Aaliyah",
    "Luke",
    "Nora",
    "Gabriel",
    "Hannah",
    "Anthony",
    "Lily",
    "Isaac",
    "Zoe",
    "Wei",
    "Mateo",
    "Fatima",
    "Kenji",
    "Ingrid",
    "Diego",
    "Amara",
    "Rafael",
    "Yuki",
    "Omar",
    "Leila",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "O'Brien",
    "Patel",
    "Kim",
    "Chen",
    "Schmidt",
    "Novak",
    "Okafor",
    "Tanaka",
    "Larsen",
    "Dubois",
];

const TITLES: &[&str] = &[
    "CEO",
    "CFO",
    "CTO",
    "VP of Sales",
    "VP of Operations",
    "Director of Procurement",
    "IT Manager",
    "Purchasing Manager",
    "Operations Manager",
    "Head of Marketing",
    "Senior Buyer",
    "Office Manager",
    "Facilities Director",
    "Controller",
    "Project Manager",
    "Chief Revenue Officer",
    "Supply Chain Analyst",
    "HR Director",
];

const DEPARTMENTS: &[&str] = &[
    "Executive",
    "Finance",
    "IT",
    "Sales",
    "Operations",
    "Procurement",
    "Marketing",
    "HR",
];

const DEAL_NAMES: &[&str] = &[
    "Annual Renewal",
    "Platform Upgrade",
    "New Business",
    "Expansion - 50 Seats",
    "Support Contract",
    "Pilot Program",
    "Enterprise License",
    "Add-On Services",
    "Fleet Rollout",
    "Regional Expansion",
    "Data Migration",
    "Training Package",
];

/// What a rep writes in an open deal's Next Step.
const NEXT_STEPS: &[&str] = &[
    "Schedule discovery call",
    "Send proposal",
    "Demo for the IT team",
    "Follow up on pricing",
    "Confirm budget with finance",
    "Legal review of the contract",
    "Book onsite visit",
];

/// Builds the demo org with the default counts, stamped relative to `now`.
#[cfg(test)]
pub fn demo_org(now: OffsetDateTime) -> Store {
    org(now, SeedCounts::default())
}

/// Builds an org with `counts` records, stamped relative to `now`; the same counts always give the
/// same names, owners and links.
pub fn org(now: OffsetDateTime, counts: SeedCounts) -> Store {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let base = now
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        - Duration::hours(1);
    let stamps = Stamps {
        base,
        import: base - Duration::days(47),
    };
    let org_id = IdGenerator::new("00D", "8d", 62u64.pow(7) * 3 + 407_113).next_id();
    let mut store = Store::new(org_id);

    let user_ids = seed_users(&mut store, &stamps);
    let account_ids = seed_accounts(&mut store, &mut rng, &user_ids, &stamps, counts.accounts);
    let contacts = seed_contacts(
        &mut store,
        &mut rng,
        &account_ids,
        &user_ids,
        &stamps,
        counts.contacts,
    );
    seed_leads(&mut store, &mut rng, &user_ids, &stamps);
    let opportunities = seed_opportunities(
        &mut store,
        &mut rng,
        &account_ids,
        &user_ids,
        &stamps,
        counts.opportunities,
    );
    seed_tasks(
        &mut store,
        &mut rng,
        &contacts,
        &opportunities,
        &stamps,
        counts.tasks,
    );
    seed_opportunity_stages(&mut store, &stamps);
    store
}

/// The stage table of a fresh org (reference §8).
fn seed_opportunity_stages(store: &mut Store, stamps: &Stamps) {
    let mut ids = IdGenerator::new("01J", "8d", 62u64.pow(7) * 23 + 777);
    let created = format_datetime(stamps.import - Duration::days(120));
    for (i, &(stage, probability, closed, won, forecast)) in OPPORTUNITY_STAGES.iter().enumerate() {
        let record = record_from(json!({
            "Id": ids.next_id(), "MasterLabel": stage, "ApiName": stage, "IsActive": true,
            "SortOrder": i + 1, "IsClosed": closed, "IsWon": won,
            "ForecastCategoryName": forecast, "DefaultProbability": probability,
            "CreatedDate": created, "LastModifiedDate": created, "SystemModstamp": created,
        }));
        store.insert(&schema::OPPORTUNITY_STAGE, record);
    }
}

fn seed_users(store: &mut Store, stamps: &Stamps) -> Vec<String> {
    let mut ids = IdGenerator::new("005", "8d", 62u64.pow(7) * 5 + 1_020_304);
    let created = format_datetime(stamps.import - Duration::days(120));
    USERS
        .iter()
        .map(|&(username, first, last, title, alias, is_admin)| {
            let id = ids.next_id();
            let record = record_from(json!({
                "Id": id, "Username": username, "FirstName": first, "LastName": last,
                "Alias": alias, "Email": username, "Title": title, "IsActive": true,
                "TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US", "UserType": "Standard",
                "CreatedDate": created, "LastModifiedDate": created, "SystemModstamp": created,
            }));
            store.insert(&schema::USER, record);
            store.users.push(OrgUser {
                id: id.clone(),
                username: username.into(),
                password: DEMO_PASSWORD.into(),
                is_admin,
            });
            id
        })
        .collect()
}

/// The i-th company: the fixed table first, then numbered branches of the same names.
fn company(i: usize) -> (String, String, &'static Company) {
    let entry = &COMPANIES[i % COMPANIES.len()];
    let round = i / COMPANIES.len();
    if round == 0 {
        (entry.0.to_owned(), entry.1.to_owned(), entry)
    } else {
        (
            format!("{} {}", entry.0, round + 1),
            format!("{}{}", round + 1, entry.1),
            entry,
        )
    }
}

fn seed_accounts(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    users: &[String],
    stamps: &Stamps,
    count: usize,
) -> Vec<String> {
    let mut ids = IdGenerator::new("001", "8d", 62u64.pow(7) * 11 + 52_001);
    (0..count)
        .map(|i| {
            let (name, domain, &(_, _, industry, city, state, country, area)) = company(i);
            let id = ids.next_id();
            let created = stamps.import - Duration::days(30) - Duration::minutes(i as i64);
            // The first half came in with the import and still carries its stamp.
            let modified = if i < count / 2 {
                stamps.import
            } else {
                stamps.base - Duration::minutes((180 * (count - i) as i64).min(60 * 24 * 60))
            };
            let record = record_from(json!({
                "Id": id, "Name": name, "Industry": industry,
                "Phone": format!("({area}) 555-{:04}", rng.gen_range(100..200)),
                "Website": format!("https://www.{domain}"),
                "BillingStreet": format!("{} {} Street", rng.gen_range(10..2000), ["Main", "Market", "Oak", "Pine", "Harbor", "Lake"][i % 6]),
                "BillingCity": city, "BillingState": state,
                "BillingPostalCode": format!("{:05}", rng.gen_range(10_000..99_999)),
                "BillingCountry": country,
                "NumberOfEmployees": rng.gen_range(20..20_000),
                "OwnerId": owner(i, users),
                "CreatedDate": format_datetime(created),
                "LastModifiedDate": format_datetime(modified),
                "SystemModstamp": format_datetime(modified),
            }));
            store.insert(&schema::ACCOUNT, record);
            id
        })
        .collect()
}

/// Seeds contacts; returns (id, owner id) of each.
fn seed_contacts(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    account_ids: &[String],
    users: &[String],
    stamps: &Stamps,
    count: usize,
) -> Vec<(String, String)> {
    let mut ids = IdGenerator::new("003", "8d", 62u64.pow(7) * 13 + 733_911);
    // Spread over at most 20 days of creation and 40 days of edits, whatever the count.
    let created_step = Duration::minutes(7).min(Duration::days(20) / count.max(1) as u32);
    let modified_step = Duration::minutes(41).min(Duration::days(40) / (count / 2).max(1) as u32);
    let mut seeded = Vec::with_capacity(count);
    for i in 0..count {
        let first = *FIRST_NAMES.choose(rng).expect("non-empty table");
        let last = *LAST_NAMES.choose(rng).expect("non-empty table");
        // A few contacts have no account (private contacts): their `Account` renders as null.
        let account = (i % 37 != 36 && !account_ids.is_empty()).then(|| i % account_ids.len());
        let company = account.map(company);
        let email = company
            .as_ref()
            .map(|c| format!("{}.{}@{}", email_part(first), email_part(last), c.1));
        let area = company.as_ref().map_or("555", |c| c.2 .6);
        let created = stamps.import - Duration::days(20) + created_step * i as u32;
        // The first 40 share the import's stamp; later ones come in pairs with one stamp each.
        let modified = if i < 40 {
            stamps.import
        } else {
            stamps.base - modified_step * ((count - i) / 2) as u32
        };
        let id = ids.next_id();
        let owner_id = owner(i, users).to_owned();
        let record = record_from(json!({
            "Id": id,
            "FirstName": first, "LastName": last, "Email": email,
            "Phone": format!("({area}) 555-{:04}", rng.gen_range(100..1000)),
            "MobilePhone": (i % 3 != 0).then(|| format!("({area}) 555-{:04}", rng.gen_range(1000..2000))),
            "Title": *TITLES.choose(rng).expect("non-empty table"),
            "Department": *DEPARTMENTS.choose(rng).expect("non-empty table"),
            "MailingCity": company.as_ref().map(|c| c.2 .3), "MailingCountry": company.as_ref().map(|c| c.2 .5),
            "AccountId": account.map(|a| account_ids[a].clone()),
            "OwnerId": owner_id,
            "CreatedDate": format_datetime(created),
            "LastModifiedDate": format_datetime(modified),
            "SystemModstamp": format_datetime(modified),
        }));
        store.insert(&schema::CONTACT, record);
        seeded.push((id, owner_id));
    }
    seeded
}

fn seed_leads(store: &mut Store, rng: &mut ChaCha8Rng, users: &[String], stamps: &Stamps) {
    let mut ids = IdGenerator::new("00Q", "8d", 62u64.pow(7) * 15 + 4_242);
    let sources = [
        "Web",
        "Phone Inquiry",
        "Partner Referral",
        "Purchased List",
        "Other",
    ];
    for i in 0..LEAD_COUNT {
        let first = *FIRST_NAMES.choose(rng).expect("non-empty table");
        let last = *LAST_NAMES.choose(rng).expect("non-empty table");
        // Prospects at companies that are not accounts yet.
        let (name, domain, entry) = company(COMPANIES.len() + i);
        let status = schema::LEAD_STATUSES[[0, 0, 1, 1, 3][i % 5]];
        let modified = stamps.base - Duration::hours(5 * i as i64);
        let record = record_from(json!({
            "Id": ids.next_id(), "FirstName": first, "LastName": last, "Company": name,
            "Title": *TITLES.choose(rng).expect("non-empty table"),
            "Email": format!("{}.{}@{domain}", email_part(first), email_part(last)),
            "Phone": format!("({}) 555-{:04}", entry.6, rng.gen_range(2000..3000)),
            "MobilePhone": null, "Status": status, "LeadSource": sources[i % sources.len()],
            "IsConverted": false, "ConvertedContactId": null,
            "OwnerId": owner(i, users),
            "CreatedDate": format_datetime(modified - Duration::days(3)),
            "LastModifiedDate": format_datetime(modified),
            "SystemModstamp": format_datetime(modified),
        }));
        store.insert(&schema::LEAD, record);
    }
}

/// Seeds opportunities; returns (id, owner id) of each.
fn seed_opportunities(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    account_ids: &[String],
    users: &[String],
    stamps: &Stamps,
    count: usize,
) -> Vec<(String, String)> {
    let mut ids = IdGenerator::new("006", "8d", 62u64.pow(7) * 17 + 90_210);
    let step = Duration::minutes(53).min(Duration::days(60) / count.max(1) as u32);
    let mut seeded = Vec::with_capacity(count);
    for i in 0..count {
        let account = (!account_ids.is_empty()).then(|| (i * 7) % account_ids.len());
        let (stage, probability, closed, ..) = OPPORTUNITY_STAGES[i % OPPORTUNITY_STAGES.len()];
        let deal = DEAL_NAMES.choose(rng).expect("non-empty table");
        let close = stamps.base.date() + Duration::days(rng.gen_range(-60..120));
        let modified = stamps.base - step * (count - i) as u32;
        let id = ids.next_id();
        let owner_id = owner(i, users).to_owned();
        let account_name = account.map_or_else(|| "Direct".to_owned(), |a| company(a).0);
        // Two open deals in three have a next step; closed ones none. Picked by position, not by
        // the generator, so every other seeded value stays as it was.
        let next_step = (!closed && i % 3 != 2).then(|| NEXT_STEPS[(i / 3) % NEXT_STEPS.len()]);
        let record = record_from(json!({
            "Id": id,
            "Name": format!("{account_name} - {deal}"),
            "StageName": stage,
            "CloseDate": close.to_string(),
            "Amount": f64::from(rng.gen_range(5u32..400)) * 1000.0,
            "Probability": probability,
            "NextStep": next_step,
            "AccountId": account.map(|a| account_ids[a].clone()),
            "OwnerId": owner_id,
            "CreatedDate": format_datetime(modified - Duration::days(45)),
            "LastModifiedDate": format_datetime(modified),
            "SystemModstamp": format_datetime(modified),
        }));
        store.insert(&schema::OPPORTUNITY, record);
        seeded.push((id, owner_id));
    }
    seeded
}

/// Logged calls and to-dos on contacts and opportunities, owned by the owner of what they are about.
fn seed_tasks(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    contacts: &[(String, String)],
    opportunities: &[(String, String)],
    stamps: &Stamps,
    count: usize,
) {
    let mut ids = IdGenerator::new("00T", "8d", 62u64.pow(7) * 19 + 31_337);
    let step = Duration::minutes(97).min(Duration::days(25) / count.max(1) as u32);
    for i in 0..count {
        let is_call = i % 3 != 2;
        let (who, what, owner_id) = if i % 4 == 3 && !opportunities.is_empty() {
            let (id, owner) = &opportunities[i % opportunities.len()];
            (None, Some(id.clone()), owner.clone())
        } else if let Some((id, owner)) = contacts.get((i * 13) % contacts.len().max(1)) {
            (Some(id.clone()), None, owner.clone())
        } else {
            continue;
        };
        let modified = stamps.base - step * (count - i) as u32;
        let due = stamps.base.date() + Duration::days(rng.gen_range(-20..20));
        let priority = ["Normal", "High", "Normal", "Low"][i % 4];
        let subject = if is_call {
            "Call"
        } else {
            ["Send Quote", "Send Letter", "Other"][i % 3]
        };
        let call_type = if is_call {
            Value::from(["Outbound", "Inbound"][i % 2])
        } else {
            Value::Null
        };
        let disposition = if is_call {
            Value::from(["Left voicemail", "Connected", "No answer"][i % 3])
        } else {
            Value::Null
        };
        let status = if is_call {
            "Completed"
        } else {
            ["Not Started", "In Progress", "Deferred"][i % 3]
        };
        let record = record_from(json!({
            "Id": ids.next_id(),
            "Subject": subject,
            "WhoId": who, "WhatId": what,
            "ActivityDate": due.to_string(),
            "Status": status,
            "Priority": priority,
            "TaskSubtype": if is_call { "Call" } else { "Task" },
            "Description": if is_call { Value::from(format!("Spoke for {} minutes about next steps.", 3 + i % 25)) } else { Value::Null },
            "CallType": call_type,
            "CallDurationInSeconds": if is_call { Value::from(60 * (3 + i % 25)) } else { Value::Null },
            "CallDisposition": disposition,
            "OwnerId": owner_id,
            "CreatedDate": format_datetime(modified),
            "LastModifiedDate": format_datetime(modified),
            "SystemModstamp": format_datetime(modified),
        }));
        store.insert(&schema::TASK, record);
    }
}

/// Who owns the i-th record of a kind: 80-85 % rep, the rest rep2, a few admin.
fn owner(i: usize, users: &[String]) -> &str {
    match (i % 10, i % 20) {
        (8, _) | (9, 19) => &users[1],
        (9, _) => &users[2],
        _ => &users[0],
    }
}

/// `O'Brien` → `obrien`.
fn email_part(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

fn record_from(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("seed records are JSON objects"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 09:00:00 UTC);

    #[test]
    fn demo_org_is_the_same_on_every_build() {
        let a = demo_org(NOW);
        let b = demo_org(NOW);
        assert_eq!(a.org_id, b.org_id);
        let names = |s: &Store| {
            s.all(&schema::CONTACT)
                .map(|r| r["Name"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.all(&schema::CONTACT).count(), CONTACT_COUNT);
        assert_eq!(a.all(&schema::ACCOUNT).count(), ACCOUNT_COUNT);
        assert_eq!(a.all(&schema::OPPORTUNITY).count(), OPPORTUNITY_COUNT);
        assert_eq!(a.all(&schema::TASK).count(), TASK_COUNT);
        assert_eq!(a.all(&schema::LEAD).count(), LEAD_COUNT);
    }

    #[test]
    fn some_open_deals_have_a_next_step_and_closed_ones_none() {
        let store = demo_org(NOW);
        let deals: Vec<&Record> = store.all(&schema::OPPORTUNITY).collect();
        let with_step = |closed: bool| {
            deals
                .iter()
                .filter(|d| d["IsClosed"] == closed && d["NextStep"].is_string())
                .count()
        };
        assert_eq!(with_step(true), 0);
        let open = deals.iter().filter(|d| d["IsClosed"] == false).count();
        assert!(
            with_step(false) > open / 2 && with_step(false) < open,
            "some, not all"
        );
        let first = deals
            .iter()
            .find(|d| d["NextStep"].is_string())
            .expect("a deal with a next step");
        assert_eq!(first["NextStep"], "Schedule discovery call");
    }

    #[test]
    fn stamps_are_in_the_past_and_relative_to_the_start() {
        let store = org(
            NOW,
            SeedCounts {
                contacts: 5_000,
                ..SeedCounts::default()
            },
        );
        let now = crate::clock::format_datetime(NOW);
        let oldest_allowed = crate::clock::format_datetime(NOW - Duration::days(200));
        for object in schema::OBJECTS {
            for record in store.all(object) {
                for field in ["CreatedDate", "SystemModstamp"] {
                    let stamp = record[field].as_str().expect("stamp");
                    assert!(
                        stamp < now.as_str() && stamp > oldest_allowed.as_str(),
                        "{} {stamp}",
                        object.name
                    );
                }
            }
        }
    }

    #[test]
    fn ids_have_valid_checksums_and_prefixes() {
        let store = demo_org(NOW);
        assert!(store.org_id.starts_with("00D") && ids::to_15(&store.org_id).is_some());
        for object in schema::OBJECTS {
            for record in store.all(object) {
                let id = record["Id"].as_str().expect("Id is a string");
                assert_eq!(id.len(), 18);
                assert!(id.starts_with(object.key_prefix), "{id}");
                assert!(ids::to_15(id).is_some(), "{id}");
            }
        }
    }
}
