export { type BindOptions, Client, type ConnectOptions, connect, type Delivery, type SubmitInput } from './client.js';
