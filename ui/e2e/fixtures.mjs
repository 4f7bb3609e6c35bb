// Seed data for the fake shell: what a rep's replica might hold.

export const rep = {
  user_id: '005000000000001AAA',
  org_id: '00D000000000001EAA',
  username: 'rep@demo.example',
  display_name: 'Riley Chen',
  email: 'rep@demo.example',
};

const people = [
  ['Ana', 'Souza', 'VP Operations', 'Northwind Traders', '+1 415 555 0134'],
  ['Ben', 'Okafor', 'Head of Procurement', 'Globex Corporation', '+1 212 555 0188'],
  ['Carla', 'Jiménez', 'CFO', 'Initech', '+1 512 555 0102'],
  ['David', 'Kim', 'IT Director', 'Umbrella Health', '+1 617 555 0147'],
  ['Elena', 'Petrova', 'Purchasing Manager', 'Northwind Traders', '+1 415 555 0190'],
  ['Farah', 'Haddad', 'COO', 'Stark Logistics', null],
  ['George', 'Whitfield', 'Account Payable Lead', 'Globex Corporation', '+1 212 555 0111'],
  ['Hannah', 'Schmidt', 'Chief Technology Officer', 'Blue Harbor Foods', '+49 30 5550 1234'],
  ['Isaac', 'Mensah', 'Regional Sales Director', 'Acme Manufacturing', '+1 312 555 0173'],
  ['Julia', 'Andersson', 'Product Owner', 'Initech', null],
  ['Kenji', 'Watanabe', 'Facilities Manager', 'Umbrella Health', '+1 617 555 0122'],
  ['Laura', 'Bianchi', 'Marketing Director', 'Blue Harbor Foods', '+39 02 5550 1881'],
  ['Marcus', 'Reed', 'Operations Analyst', 'Stark Logistics', '+1 206 555 0166'],
  ['Nadia', 'Rahman', 'Chief Executive Officer', 'Acme Manufacturing', '+1 312 555 0100'],
  ['Oliver', 'Grant', 'Buyer', 'Northwind Traders', null, 'no-email'],
  ['Priya', 'Natarajan', 'Finance Manager', 'Globex Corporation', '+1 212 555 0159'],
  ['Quentin', 'Dubois', 'Supply Chain Lead', 'Blue Harbor Foods', '+33 1 5550 2200'],
  ['Rosa', 'Martínez', 'Clinic Administrator', 'Umbrella Health', '+1 617 555 0195'],
  ['Samuel', 'Adeyemi', 'Engineering Manager', 'Initech', '+1 512 555 0170'],
  ['Tara', "O'Neill", 'Office Manager', 'Stark Logistics', '+1 206 555 0128'],
  ['Usha', 'Iyer', 'Data Protection Officer', 'Acme Manufacturing', null],
  ['Victor', 'Lindqvist', 'Warehouse Supervisor', 'Stark Logistics', '+1 206 555 0143'],
  ['Wendy', 'Zhao', 'Category Manager', 'Northwind Traders', '+1 415 555 0161'],
  ['Yusuf', 'Demir', 'Controller', 'Initech', '+1 512 555 0118'],
];

export const accounts = [
  ['Northwind Traders', 'Wholesale', '+1 415 555 0100', 'San Francisco'],
  ['Globex Corporation', 'Manufacturing', '+1 212 555 0100', 'New York'],
  ['Initech', 'Software', '+1 512 555 0100', 'Austin'],
  ['Umbrella Health', 'Healthcare', '+1 617 555 0100', 'Boston'],
  ['Stark Logistics', 'Transportation', null, 'Seattle'],
  ['Blue Harbor Foods', 'Food & Beverage', '+49 30 5550 0000', 'Berlin'],
  ['Acme Manufacturing', 'Manufacturing', '+1 312 555 0100', 'Chicago'],
].map(([name, industry, phone, city], index) => ({
  id: `001Dn0000${String(index + 1).padStart(6, '0')}AAA`,
  name,
  industry,
  phone,
  billing_city: city,
  // The first account has a whole address and a website; the others a city only.
  website: index === 0 ? 'www.northwind.example' : null,
  billing_street: index === 0 ? '100 Market Street' : null,
  billing_state: index === 0 ? 'CA' : null,
  billing_postal_code: index === 0 ? '94105' : null,
  billing_country: index === 0 ? 'USA' : null,
}));

const accountId = (name) => accounts.find((a) => a.name === name)?.id ?? null;

export const contacts = people.map(([first, last, title, account, phone, flag], index) => ({
  id: `003Dn00000${String(index + 1).padStart(5, '0')}AAA`,
  name: `${first} ${last}`,
  first_name: first,
  last_name: last,
  email:
    flag === 'no-email'
      ? null
      : `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[^a-z.]/g, '') + '@' +
        account.toLowerCase().replace(/[^a-z]+/g, '') + '.example',
  phone,
  mobile_phone: index % 3 === 0 && phone ? phone.replace(/\d{2}$/, '99') : null,
  title,
  account_name: account,
  account_id: accountId(account),
  pending: null,
}));

/** The contact with neither phone nor email (no Call, no Email button). */
export const unreachable = contacts.find((c) => c.name === 'Oliver Grant');

export const stages = [
  ['Prospecting', 10],
  ['Qualification', 10],
  ['Needs Analysis', 20],
  ['Value Proposition', 50],
  ['Id. Decision Makers', 60],
  ['Perception Analysis', 70],
  ['Proposal/Price Quote', 75],
  ['Negotiation/Review', 90],
  ['Closed Won', 100],
  ['Closed Lost', 0],
].map(([value, probability], index) => ({
  value,
  label: value,
  default: index === 0,
  probability,
  closed: value.startsWith('Closed'),
  won: value === 'Closed Won',
}));

const inDays = (days) => {
  const date = new Date();
  date.setDate(date.getDate() + days);
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
};

export const opportunities = [
  ['Northwind — Fleet renewal', 'Northwind Traders', 'Negotiation/Review', 185000, 6, 'Send final pricing'],
  ['Globex — Line 4 retrofit', 'Globex Corporation', 'Proposal/Price Quote', 92000, 21, 'Review quote with CFO'],
  ['Initech — Cloud migration', 'Initech', 'Value Proposition', 54000, 45, null],
  ['Umbrella — Clinic rollout', 'Umbrella Health', 'Qualification', 230000, 80, 'Discovery workshop'],
  ['Stark — Warehouse sensors', 'Stark Logistics', 'Prospecting', 18000, 120, null],
  ['Blue Harbor — Cold chain', 'Blue Harbor Foods', 'Needs Analysis', 67000, 12, 'Site visit'],
  ['Acme — Robotics pilot', 'Acme Manufacturing', 'Id. Decision Makers', 41000, 3, 'Meet plant manager'],
  ['Northwind — Spare parts', 'Northwind Traders', 'Perception Analysis', null, 30, null],
].map(([name, account, stage, amount, days, next], index) => {
  const entry = stages.find((s) => s.value === stage);
  return {
    id: `006Dn0000${String(index + 1).padStart(6, '0')}AAA`,
    name,
    stage_name: stage,
    amount,
    close_date: inDays(days),
    probability: entry.probability,
    is_closed: false,
    is_won: false,
    account_id: accountId(account),
    account_name: account,
    next_step: next,
    pending: null,
  };
});

export const LOCAL_LEAD = 'local-00Q-7f3a9c2e';

export const leads = [
  [LOCAL_LEAD, 'Mara', 'Lindgren', 'Fjord Analytics', 'Head of Data', 'Trade Show', 'Open - Not Contacted', 'waiting'],
  ['00QDn0000000001AAA', 'Theo', 'Baptiste', 'Maison Verte', 'Owner', 'Web', 'Working - Contacted', null],
  ['00QDn0000000002AAA', 'Ines', 'Carvalho', 'Porto Freight', 'Ops Manager', 'Partner Referral', 'Open - Not Contacted', null],
  ['00QDn0000000003AAA', 'Raj', 'Malhotra', 'Kite Robotics', 'CTO', 'Phone Inquiry', 'Working - Contacted', null],
].map(([id, first, last, company, title, source, status, pending]) => ({
  id,
  name: `${first} ${last}`,
  first_name: first,
  last_name: last,
  company,
  title,
  email: `${first}@${company.toLowerCase().replace(/[^a-z]+/g, '')}.example`.toLowerCase(),
  phone: id === LOCAL_LEAD ? null : '+1 555 010 2030',
  mobile_phone: id === LOCAL_LEAD ? '+46 70 555 0101' : null,
  status,
  lead_source: source,
  pending,
}));

const task = (id, subject, subtype, who, what, days, closed, pending = null) => ({
  id,
  subject,
  status: closed ? 'Completed' : 'Not Started',
  priority: subtype === 'Call' ? 'Normal' : 'High',
  task_subtype: subtype,
  activity_date: inDays(days),
  who_id: who,
  what_id: what,
  description: subtype === 'Call' ? 'Talked through the renewal timeline.' : null,
  is_closed: closed,
  pending,
});

export const tasks = [
  task('00TDn0000000001AAA', 'Call', 'Call', contacts[0].id, opportunities[0].id, -2, true),
  task('00TDn0000000002AAA', 'Send quote', 'Task', contacts[0].id, opportunities[0].id, 2, false),
  task('00TDn0000000003AAA', 'Call', 'Call', contacts[1].id, opportunities[1].id, -5, true),
  task('00TDn0000000004AAA', 'Follow up', 'Task', null, accounts[0].id, 7, false),
  task('local-00T-c41d', 'Intro call', 'Call', LOCAL_LEAD, null, 0, true, 'sending'),
];

export const leadStatuses = ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'].map(
  (value, index) => ({ value, label: value, default: index === 0 }),
);
export const leadSources = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Trade Show', 'Other'].map(
  (value) => ({ value, label: value, default: false }),
);
export const priorities = ['High', 'Normal', 'Low'].map((value) => ({ value, label: value, default: value === 'Normal' }));

const savedAgo = (minutes) => new Date(Date.now() - minutes * 60_000).toISOString();

/** The outbox: one change in every state. */
export const pending = [
  {
    key: 'w-conflict',
    kind: 'update_opportunity',
    object: 'Opportunity',
    record_id: opportunities[1].id,
    record_name: opportunities[1].name,
    state: 'conflict',
    fields: { StageName: 'Negotiation/Review', Amount: 95000 },
    base: { StageName: 'Proposal/Price Quote', Amount: 92000 },
    conflicts: [
      { field: 'StageName', base: 'Proposal/Price Quote', mine: 'Negotiation/Review', theirs: 'Closed Lost' },
      { field: 'Amount', base: 92000, mine: 95000, theirs: 88000 },
    ],
    attempts: 1,
    saved_at: savedAgo(95),
  },
  {
    key: 'w-failed',
    kind: 'create_lead',
    object: 'Lead',
    record_id: 'local-00Q-bad1',
    record_name: 'Pat Quinn',
    state: 'failed',
    fields: { FirstName: 'Pat', LastName: 'Quinn', Company: 'Quinn & Co', Email: 'pat@quinn', Status: 'Open - Not Contacted' },
    error: {
      code: 'INVALID_EMAIL_ADDRESS',
      message: 'Salesforce could not save this lead.',
      fields: { Email: 'Email: invalid email address: pat@quinn' },
    },
    attempts: 1,
    saved_at: savedAgo(60),
  },
  {
    key: 'w-waiting',
    kind: 'create_lead',
    object: 'Lead',
    record_id: LOCAL_LEAD,
    record_name: 'Mara Lindgren',
    state: 'waiting',
    fields: { FirstName: 'Mara', LastName: 'Lindgren', Company: 'Fjord Analytics', LeadSource: 'Trade Show' },
    attempts: 0,
    saved_at: savedAgo(30),
  },
  {
    key: 'w-sending',
    kind: 'log_call',
    object: 'Task',
    record_id: 'local-00T-c41d',
    record_name: 'Mara Lindgren',
    state: 'sending',
    fields: { Subject: 'Intro call', ActivityDate: inDays(0) },
    waiting_for: 'Mara Lindgren',
    attempts: 0,
    saved_at: savedAgo(25),
  },
  {
    key: 'w-signin',
    kind: 'update_contact',
    object: 'Contact',
    record_id: contacts[2].id,
    record_name: contacts[2].name,
    state: 'waiting_for_sign_in',
    fields: { Phone: '+1 512 555 0199' },
    base: { Phone: contacts[2].phone },
    attempts: 0,
    saved_at: savedAgo(10),
  },
];
