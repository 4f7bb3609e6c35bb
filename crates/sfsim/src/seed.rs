//! The demo org: the same users, accounts, contacts and opportunities on every start.
//! Names come from fixed tables picked by a seeded generator; stamps from fixed dates.

use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use time::{macros::datetime, Duration, OffsetDateTime};

use crate::{
    clock::format_datetime,
    ids::IdGenerator,
    schema,
    store::{OrgUser, Record, Store, OPPORTUNITY_STAGES},
    DEMO_PASSWORD,
};

pub const ACCOUNT_COUNT: usize = 40;
pub const CONTACT_COUNT: usize = 220;
pub const OPPORTUNITY_COUNT: usize = 60;

/// The moment most demo data was last touched.
const BASE: OffsetDateTime = datetime!(2024-05-01 10:00:00 UTC);
/// A data load that stamped many records with one and the same SystemModstamp, as imports do.
const IMPORT: OffsetDateTime = datetime!(2024-03-15 09:30:00 UTC);

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
const COMPANIES: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
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

/// Builds the demo org.
pub fn demo_org() -> Store {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let org_id = IdGenerator::new("00D", "8d", 62u64.pow(7) * 3 + 407_113).next_id();
    let mut store = Store::new(org_id);

    let user_ids = seed_users(&mut store);
    let account_ids = seed_accounts(&mut store, &mut rng, &user_ids);
    seed_contacts(&mut store, &mut rng, &account_ids, &user_ids);
    seed_opportunities(&mut store, &mut rng, &account_ids, &user_ids);
    store
}

fn seed_users(store: &mut Store) -> Vec<String> {
    let mut ids = IdGenerator::new("005", "8d", 62u64.pow(7) * 5 + 1_020_304);
    let created = format_datetime(datetime!(2023-11-02 16:20:00 UTC));
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

fn seed_accounts(store: &mut Store, rng: &mut ChaCha8Rng, users: &[String]) -> Vec<String> {
    let mut ids = IdGenerator::new("001", "8d", 62u64.pow(7) * 11 + 52_001);
    COMPANIES
        .iter()
        .take(ACCOUNT_COUNT)
        .enumerate()
        .map(|(i, &(name, domain, industry, city, state, country, area))| {
            let id = ids.next_id();
            let created = IMPORT - Duration::days(30 + i as i64);
            // The first half came in with the import and still carries its stamp.
            let modified = if i < ACCOUNT_COUNT / 2 {
                IMPORT
            } else {
                BASE - Duration::hours(3 * (ACCOUNT_COUNT - i) as i64)
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

fn seed_contacts(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    account_ids: &[String],
    users: &[String],
) {
    let mut ids = IdGenerator::new("003", "8d", 62u64.pow(7) * 13 + 733_911);
    for i in 0..CONTACT_COUNT {
        let first = *FIRST_NAMES.choose(rng).expect("non-empty table");
        let last = *LAST_NAMES.choose(rng).expect("non-empty table");
        // A few contacts have no account (private contacts): their `Account` renders as null.
        let account = (i % 37 != 36).then(|| i % account_ids.len());
        let company = account.map(|a| COMPANIES[a]);
        let email = company.map(|c| format!("{}.{}@{}", email_part(first), email_part(last), c.1));
        let area = company.map_or("555", |c| c.6);
        let created = IMPORT - Duration::days(20) + Duration::minutes(7 * i as i64);
        // The first 40 share the import's stamp; later ones come in pairs with one stamp each.
        let modified = if i < 40 {
            IMPORT
        } else {
            BASE - Duration::minutes(41 * ((CONTACT_COUNT - i) / 2) as i64)
        };
        let record = record_from(json!({
            "Id": ids.next_id(),
            "FirstName": first, "LastName": last, "Email": email,
            "Phone": format!("({area}) 555-{:04}", rng.gen_range(100..1000)),
            "MobilePhone": (i % 3 != 0).then(|| format!("({area}) 555-{:04}", rng.gen_range(1000..2000))),
            "Title": *TITLES.choose(rng).expect("non-empty table"),
            "Department": *DEPARTMENTS.choose(rng).expect("non-empty table"),
            "MailingCity": company.map(|c| c.3), "MailingCountry": company.map(|c| c.5),
            "AccountId": account.map(|a| account_ids[a].clone()),
            "OwnerId": owner(i, users),
            "CreatedDate": format_datetime(created),
            "LastModifiedDate": format_datetime(modified),
            "SystemModstamp": format_datetime(modified),
        }));
        store.insert(&schema::CONTACT, record);
    }
}

fn seed_opportunities(
    store: &mut Store,
    rng: &mut ChaCha8Rng,
    account_ids: &[String],
    users: &[String],
) {
    let mut ids = IdGenerator::new("006", "8d", 62u64.pow(7) * 17 + 90_210);
    for i in 0..OPPORTUNITY_COUNT {
        let account = (i * 7) % account_ids.len();
        let (stage, probability, ..) = OPPORTUNITY_STAGES[i % OPPORTUNITY_STAGES.len()];
        let deal = DEAL_NAMES.choose(rng).expect("non-empty table");
        let close = BASE.date() + Duration::days(rng.gen_range(-60..120));
        let modified = BASE - Duration::minutes(53 * (OPPORTUNITY_COUNT - i) as i64);
        let record = record_from(json!({
            "Id": ids.next_id(),
            "Name": format!("{} - {deal}", COMPANIES[account].0),
            "StageName": stage,
            "CloseDate": close.to_string(),
            "Amount": f64::from(rng.gen_range(5u32..400)) * 1000.0,
            "Probability": probability,
            "AccountId": account_ids[account],
            "OwnerId": owner(i, users),
            "CreatedDate": format_datetime(modified - Duration::days(45)),
            "LastModifiedDate": format_datetime(modified),
            "SystemModstamp": format_datetime(modified),
        }));
        store.insert(&schema::OPPORTUNITY, record);
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

    #[test]
    fn demo_org_is_the_same_on_every_build() {
        let a = demo_org();
        let b = demo_org();
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
    }

    #[test]
    fn ids_have_valid_checksums_and_prefixes() {
        let store = demo_org();
        assert!(store.org_id.starts_with("00D") && ids::to_15(&store.org_id).is_some());
        for (object, prefix) in [
            (&schema::ACCOUNT, "001"),
            (&schema::CONTACT, "003"),
            (&schema::OPPORTUNITY, "006"),
            (&schema::USER, "005"),
        ] {
            for record in store.all(object) {
                let id = record["Id"].as_str().expect("Id is a string");
                assert_eq!(id.len(), 18);
                assert!(id.starts_with(prefix), "{id}");
                assert!(ids::to_15(id).is_some(), "{id}");
            }
        }
    }
}
