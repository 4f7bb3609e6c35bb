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
  ['Oliver', 'Grant', 'Buyer', 'Northwind Traders', null],
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

export const contacts = people.map(([first, last, title, account, phone], index) => ({
  id: `003Dn00000${String(index + 1).padStart(5, '0')}AAA`,
  name: `${first} ${last}`,
  first_name: first,
  last_name: last,
  email: `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[^a-z.]/g, '') + '@' +
    account.toLowerCase().replace(/[^a-z]+/g, '') + '.example',
  phone,
  title,
  account_name: account,
}));
