import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';

// Start-up marks (read by the app bench): the script runs, the shell is listened to, the status
// and the first page of contacts arrive.
performance.mark('companion:script');

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

export default mount(App, { target });
